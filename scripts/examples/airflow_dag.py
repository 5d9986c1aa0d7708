"""Warehouse Pipelines as an Airflow DAG: BashOperator tasks calling scripts/run.

Copy to your DAGs folder and set the Airflow Variables (or edit the defaults below):
  warehouse_home       where the project is deployed, with the jar built (mvn -DskipTests package)
  warehouse_jdbc_url   e.g. jdbc:postgresql://warehouse-db:5432/warehouse (no password in it)
  warehouse_password_file   a file on the worker whose first line is the database password
  warehouse_flink_master    optional HOST:PORT of a Flink session cluster ("" = embedded mini-cluster)

Scheduler contract of scripts/run: exit 0 ok; 1 the run failed (one-line cause on stderr; the targets
are unchanged); 2 bad options; 3 another run of the same pipeline holds the lock on the same database.
Exit 3 marks the task "skipped" instead of failed (skip_on_exit_code), and 1 / 2 fail it. Re-running
any task is safe: every pipeline is idempotent (see docs/operations.md).
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.models import Variable
from airflow.operators.bash import BashOperator

WH_HOME = Variable.get("warehouse_home", default_var="/opt/warehouse-pipelines")
JDBC_URL = Variable.get("warehouse_jdbc_url", default_var="jdbc:postgresql://warehouse-db:5432/warehouse")
PASSWORD_FILE = Variable.get("warehouse_password_file", default_var="/etc/warehouse/password")
FLINK_MASTER = Variable.get("warehouse_flink_master", default_var="")

LOCK_HELD = 3


def pipeline_task(task_id, pipeline, *args):
    """One scripts/run call; the JSON report lands in reports/<pipeline>-<run id>.json."""
    options = [
        f"--jdbcUrl={JDBC_URL}",
        f"--passwordFile={PASSWORD_FILE}",
        f"--reportFile=reports/{pipeline}-{{{{ run_id | replace(':', '_') }}}}.json",
    ]
    if FLINK_MASTER:
        options.append(f"--flinkMaster={FLINK_MASTER}")
    options.extend(args)
    return BashOperator(
        task_id=task_id,
        bash_command=f"cd {WH_HOME} && mkdir -p reports && scripts/run {pipeline} " + " ".join(options),
        env={"WH_NO_BUILD": "1", "PGUSER": "warehouse"},
        append_env=True,
        skip_on_exit_code=LOCK_HELD,
        retries=2,
        retry_delay=timedelta(minutes=10),
        execution_timeout=timedelta(hours=2),
    )


with DAG(
    dag_id="warehouse_pipelines_nightly",
    description="IBGE dimensions, then every agg_* table from fact_births",
    schedule="15 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["warehouse"],
) as dag:
    load_reference = pipeline_task("load_reference", "load-reference")
    aggregate = pipeline_task("aggregate", "aggregate")
    load_reference >> aggregate
