-- PostgreSQL computing every aggregate table on its own: the test oracle and the benchmark's SQL
-- baseline (one GROUP BY scan of fact_births per table). Creates oracle_<table> for each agg table.
-- Rules (same as the pipeline's documentation, written independently here):
--   * the residence code is the 6-digit DATASUS code; NULL counts as code 0;
--   * a code no municipality has keeps its state when its first two digits name a state;
--   * such births go to agg_unmatched_municipality (code6, year, total_births);
--   * preterm: gestational_weeks < 37 when known, else gestation_category 1-4; adequate prenatal:
--     prenatal_visits >= 7 when known, else prenatal_category 4.
-- Run with: psql -v ON_ERROR_STOP=1 -f scripts/sql/aggregate_oracle.sql (work_mem set below).
SET work_mem = '64MB';
SET client_min_messages = warning;

DROP VIEW IF EXISTS oracle_births CASCADE;
CREATE VIEW oracle_births AS
SELECT f.birth_date,
       extract(year FROM f.birth_date)::int AS year,
       extract(month FROM f.birth_date)::int AS month,
       coalesce(f.residence_municipality_code, 0) AS code6,
       m.municipality_code, m.municipality_name, m.state_code AS municipality_state_code,
       s.state_code, s.state_abbr, s.state_name, s.region_code, r.region_name,
       f.cnes_code, f.sex, f.birth_weight_g, f.mother_age, f.delivery_type,
       -- weeks when known, else the DATASUS category (GESTACAO 1..4 = under 37 weeks); neither: not preterm
       CASE WHEN f.gestational_weeks IS NULL THEN f.gestation_category IN (1, 2, 3, 4)
            ELSE f.gestational_weeks < 37 END AS preterm,
       -- visits when known, else the DATASUS category (CONSULTAS 4 = 7 or more); neither: not adequate
       coalesce(f.prenatal_visits >= 7, f.prenatal_category = 4) AS adequate_prenatal
FROM fact_births f
LEFT JOIN dim_ibge_id_municipalities m ON m.municipality_code6 = f.residence_municipality_code
LEFT JOIN dim_ibge_id_states s
       ON s.state_code = coalesce(m.state_code,
            CASE WHEN f.residence_municipality_code BETWEEN 100000 AND 999999
                 THEN f.residence_municipality_code / 10000 END)
LEFT JOIN dim_ibge_id_regions r ON r.region_code = s.region_code;

DROP TABLE IF EXISTS oracle_agg_yearly;
CREATE TABLE oracle_agg_yearly AS
SELECT year,
  count(*) AS total_births,
  count(*) FILTER (WHERE sex = 1) AS male_births,
  count(*) FILTER (WHERE sex = 2) AS female_births,
  count(*) FILTER (WHERE delivery_type = 1) AS vaginal_births,
  count(*) FILTER (WHERE delivery_type = 2) AS cesarean_births,
  count(*) FILTER (WHERE birth_weight_g < 2500) AS low_birth_weight_births,
  count(*) FILTER (WHERE preterm) AS preterm_births,
  count(*) FILTER (WHERE mother_age < 20) AS teen_mother_births,
  count(*) FILTER (WHERE adequate_prenatal) AS adequate_prenatal_births,
  round(avg(birth_weight_g), 1)::numeric(6,1) AS avg_birth_weight_g
FROM oracle_births 
GROUP BY year;

DROP TABLE IF EXISTS oracle_agg_monthly;
CREATE TABLE oracle_agg_monthly AS
SELECT year, month,
  count(*) AS total_births,
  count(*) FILTER (WHERE sex = 1) AS male_births,
  count(*) FILTER (WHERE sex = 2) AS female_births,
  count(*) FILTER (WHERE delivery_type = 1) AS vaginal_births,
  count(*) FILTER (WHERE delivery_type = 2) AS cesarean_births,
  count(*) FILTER (WHERE birth_weight_g < 2500) AS low_birth_weight_births,
  count(*) FILTER (WHERE preterm) AS preterm_births,
  count(*) FILTER (WHERE mother_age < 20) AS teen_mother_births,
  count(*) FILTER (WHERE adequate_prenatal) AS adequate_prenatal_births,
  round(avg(birth_weight_g), 1)::numeric(6,1) AS avg_birth_weight_g
FROM oracle_births 
GROUP BY year, month;

DROP TABLE IF EXISTS oracle_agg_region_yearly;
CREATE TABLE oracle_agg_region_yearly AS
SELECT region_code, region_name, year,
  count(*) AS total_births,
  count(*) FILTER (WHERE sex = 1) AS male_births,
  count(*) FILTER (WHERE sex = 2) AS female_births,
  count(*) FILTER (WHERE delivery_type = 1) AS vaginal_births,
  count(*) FILTER (WHERE delivery_type = 2) AS cesarean_births,
  count(*) FILTER (WHERE birth_weight_g < 2500) AS low_birth_weight_births,
  count(*) FILTER (WHERE preterm) AS preterm_births,
  count(*) FILTER (WHERE mother_age < 20) AS teen_mother_births,
  count(*) FILTER (WHERE adequate_prenatal) AS adequate_prenatal_births,
  round(avg(birth_weight_g), 1)::numeric(6,1) AS avg_birth_weight_g
FROM oracle_births WHERE region_code IS NOT NULL
GROUP BY region_code, region_name, year;

DROP TABLE IF EXISTS oracle_agg_region_monthly;
CREATE TABLE oracle_agg_region_monthly AS
SELECT region_code, region_name, year, month,
  count(*) AS total_births,
  count(*) FILTER (WHERE sex = 1) AS male_births,
  count(*) FILTER (WHERE sex = 2) AS female_births,
  count(*) FILTER (WHERE delivery_type = 1) AS vaginal_births,
  count(*) FILTER (WHERE delivery_type = 2) AS cesarean_births,
  count(*) FILTER (WHERE birth_weight_g < 2500) AS low_birth_weight_births,
  count(*) FILTER (WHERE preterm) AS preterm_births,
  count(*) FILTER (WHERE mother_age < 20) AS teen_mother_births,
  count(*) FILTER (WHERE adequate_prenatal) AS adequate_prenatal_births,
  round(avg(birth_weight_g), 1)::numeric(6,1) AS avg_birth_weight_g
FROM oracle_births WHERE region_code IS NOT NULL
GROUP BY region_code, region_name, year, month;

DROP TABLE IF EXISTS oracle_agg_region_daily;
CREATE TABLE oracle_agg_region_daily AS
SELECT region_code, region_name, birth_date,
  count(*) AS total_births,
  count(*) FILTER (WHERE sex = 1) AS male_births,
  count(*) FILTER (WHERE sex = 2) AS female_births,
  count(*) FILTER (WHERE delivery_type = 1) AS vaginal_births,
  count(*) FILTER (WHERE delivery_type = 2) AS cesarean_births,
  count(*) FILTER (WHERE birth_weight_g < 2500) AS low_birth_weight_births,
  count(*) FILTER (WHERE preterm) AS preterm_births,
  count(*) FILTER (WHERE mother_age < 20) AS teen_mother_births,
  count(*) FILTER (WHERE adequate_prenatal) AS adequate_prenatal_births,
  round(avg(birth_weight_g), 1)::numeric(6,1) AS avg_birth_weight_g
FROM oracle_births WHERE region_code IS NOT NULL
GROUP BY region_code, region_name, birth_date;

DROP TABLE IF EXISTS oracle_agg_state_yearly;
CREATE TABLE oracle_agg_state_yearly AS
SELECT state_code, state_abbr, state_name, region_code, year,
  count(*) AS total_births,
  count(*) FILTER (WHERE sex = 1) AS male_births,
  count(*) FILTER (WHERE sex = 2) AS female_births,
  count(*) FILTER (WHERE delivery_type = 1) AS vaginal_births,
  count(*) FILTER (WHERE delivery_type = 2) AS cesarean_births,
  count(*) FILTER (WHERE birth_weight_g < 2500) AS low_birth_weight_births,
  count(*) FILTER (WHERE preterm) AS preterm_births,
  count(*) FILTER (WHERE mother_age < 20) AS teen_mother_births,
  count(*) FILTER (WHERE adequate_prenatal) AS adequate_prenatal_births,
  round(avg(birth_weight_g), 1)::numeric(6,1) AS avg_birth_weight_g
FROM oracle_births WHERE state_code IS NOT NULL
GROUP BY state_code, state_abbr, state_name, region_code, year;

DROP TABLE IF EXISTS oracle_agg_state_monthly;
CREATE TABLE oracle_agg_state_monthly AS
SELECT state_code, state_abbr, state_name, region_code, year, month,
  count(*) AS total_births,
  count(*) FILTER (WHERE sex = 1) AS male_births,
  count(*) FILTER (WHERE sex = 2) AS female_births,
  count(*) FILTER (WHERE delivery_type = 1) AS vaginal_births,
  count(*) FILTER (WHERE delivery_type = 2) AS cesarean_births,
  count(*) FILTER (WHERE birth_weight_g < 2500) AS low_birth_weight_births,
  count(*) FILTER (WHERE preterm) AS preterm_births,
  count(*) FILTER (WHERE mother_age < 20) AS teen_mother_births,
  count(*) FILTER (WHERE adequate_prenatal) AS adequate_prenatal_births,
  round(avg(birth_weight_g), 1)::numeric(6,1) AS avg_birth_weight_g
FROM oracle_births WHERE state_code IS NOT NULL
GROUP BY state_code, state_abbr, state_name, region_code, year, month;

DROP TABLE IF EXISTS oracle_agg_state_daily;
CREATE TABLE oracle_agg_state_daily AS
SELECT state_code, state_abbr, state_name, region_code, birth_date,
  count(*) AS total_births,
  count(*) FILTER (WHERE sex = 1) AS male_births,
  count(*) FILTER (WHERE sex = 2) AS female_births,
  count(*) FILTER (WHERE delivery_type = 1) AS vaginal_births,
  count(*) FILTER (WHERE delivery_type = 2) AS cesarean_births,
  count(*) FILTER (WHERE birth_weight_g < 2500) AS low_birth_weight_births,
  count(*) FILTER (WHERE preterm) AS preterm_births,
  count(*) FILTER (WHERE mother_age < 20) AS teen_mother_births,
  count(*) FILTER (WHERE adequate_prenatal) AS adequate_prenatal_births,
  round(avg(birth_weight_g), 1)::numeric(6,1) AS avg_birth_weight_g
FROM oracle_births WHERE state_code IS NOT NULL
GROUP BY state_code, state_abbr, state_name, region_code, birth_date;

DROP TABLE IF EXISTS oracle_agg_municipality_yearly;
CREATE TABLE oracle_agg_municipality_yearly AS
SELECT municipality_code, municipality_name, municipality_state_code AS state_code, year,
  count(*) AS total_births,
  count(*) FILTER (WHERE sex = 1) AS male_births,
  count(*) FILTER (WHERE sex = 2) AS female_births,
  count(*) FILTER (WHERE delivery_type = 1) AS vaginal_births,
  count(*) FILTER (WHERE delivery_type = 2) AS cesarean_births,
  count(*) FILTER (WHERE birth_weight_g < 2500) AS low_birth_weight_births,
  count(*) FILTER (WHERE preterm) AS preterm_births,
  count(*) FILTER (WHERE mother_age < 20) AS teen_mother_births,
  count(*) FILTER (WHERE adequate_prenatal) AS adequate_prenatal_births,
  round(avg(birth_weight_g), 1)::numeric(6,1) AS avg_birth_weight_g
FROM oracle_births WHERE municipality_code IS NOT NULL
GROUP BY municipality_code, municipality_name, municipality_state_code, year;

DROP TABLE IF EXISTS oracle_agg_municipality_monthly;
CREATE TABLE oracle_agg_municipality_monthly AS
SELECT municipality_code, municipality_name, municipality_state_code AS state_code, year, month,
  count(*) AS total_births,
  count(*) FILTER (WHERE sex = 1) AS male_births,
  count(*) FILTER (WHERE sex = 2) AS female_births,
  count(*) FILTER (WHERE delivery_type = 1) AS vaginal_births,
  count(*) FILTER (WHERE delivery_type = 2) AS cesarean_births,
  count(*) FILTER (WHERE birth_weight_g < 2500) AS low_birth_weight_births,
  count(*) FILTER (WHERE preterm) AS preterm_births,
  count(*) FILTER (WHERE mother_age < 20) AS teen_mother_births,
  count(*) FILTER (WHERE adequate_prenatal) AS adequate_prenatal_births,
  round(avg(birth_weight_g), 1)::numeric(6,1) AS avg_birth_weight_g
FROM oracle_births WHERE municipality_code IS NOT NULL
GROUP BY municipality_code, municipality_name, municipality_state_code, year, month;

DROP TABLE IF EXISTS oracle_agg_cnes_yearly;
CREATE TABLE oracle_agg_cnes_yearly AS
SELECT cnes_code, year,
  count(*) AS total_births,
  count(*) FILTER (WHERE sex = 1) AS male_births,
  count(*) FILTER (WHERE sex = 2) AS female_births,
  count(*) FILTER (WHERE delivery_type = 1) AS vaginal_births,
  count(*) FILTER (WHERE delivery_type = 2) AS cesarean_births,
  count(*) FILTER (WHERE birth_weight_g < 2500) AS low_birth_weight_births,
  count(*) FILTER (WHERE preterm) AS preterm_births,
  count(*) FILTER (WHERE mother_age < 20) AS teen_mother_births,
  count(*) FILTER (WHERE adequate_prenatal) AS adequate_prenatal_births,
  round(avg(birth_weight_g), 1)::numeric(6,1) AS avg_birth_weight_g
FROM oracle_births WHERE cnes_code IS NOT NULL
GROUP BY cnes_code, year;

DROP TABLE IF EXISTS oracle_agg_unmatched_municipality;
CREATE TABLE oracle_agg_unmatched_municipality AS
SELECT code6, year, count(*) AS total_births
FROM oracle_births WHERE municipality_code IS NULL
GROUP BY code6, year;
