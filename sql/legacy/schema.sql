-- The legacy database (input contract): exactly the tables and columns of
-- spec/legacy-schema.md. No foreign keys, as in production. The extra indexes
-- at the end are the ones the migration's joins and keyset walks use.
DROP TABLE IF EXISTS auth_user CASCADE;
DROP TABLE IF EXISTS dispatch_office CASCADE;
DROP TABLE IF EXISTS dispatch_office_doctors CASCADE;
DROP TABLE IF EXISTS dispatch_patient CASCADE;
DROP TABLE IF EXISTS dispatch_project CASCADE;
DROP TABLE IF EXISTS dispatch_state CASCADE;
DROP TABLE IF EXISTS dispatch_template CASCADE;

CREATE TABLE auth_user (
    id           integer PRIMARY KEY,
    password     varchar(128) NOT NULL,
    last_login   timestamptz NULL,
    is_superuser boolean NOT NULL,
    username     varchar(150) NOT NULL UNIQUE,
    first_name   varchar(150) NOT NULL,
    last_name    varchar(150) NOT NULL,
    email        varchar(254) NOT NULL,
    is_staff     boolean NOT NULL,
    is_active    boolean NOT NULL,
    date_joined  timestamptz NOT NULL
);

CREATE TABLE dispatch_office (
    id         integer PRIMARY KEY,
    name       varchar(255) NOT NULL,
    address    varchar(255) NULL,
    apt        varchar(255) NULL,
    city       varchar(100) NULL,
    state      varchar(50) NULL,
    zip        varchar(20) NULL,
    country    varchar(2) NULL,
    phone      varchar(30) NULL,
    email      varchar(254) NULL,
    is_active  boolean NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE dispatch_office_doctors (
    id        integer PRIMARY KEY,
    office_id integer NOT NULL,
    user_id   integer NOT NULL
);

CREATE TABLE dispatch_patient (
    id         integer PRIMARY KEY,
    doctor_id  integer NULL,
    office_id  integer NULL,
    first_name varchar(100) NOT NULL,
    last_name  varchar(100) NOT NULL,
    birthdate  date NULL,
    sex        varchar(1) NULL,
    status     smallint NOT NULL,
    archived   boolean NOT NULL,
    suspended  boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE dispatch_project (
    id         integer PRIMARY KEY,
    uid        uuid NOT NULL UNIQUE,
    patient_id integer NULL,
    creator_id integer NULL,
    name       varchar(255) NOT NULL,
    type       smallint NOT NULL,
    status     smallint NOT NULL,
    size       bigint NULL,
    notes      text NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE dispatch_state (
    id         integer PRIMARY KEY,
    project_id integer NOT NULL,
    status     smallint NOT NULL,
    actor_id   integer NULL,
    changed_at timestamptz NOT NULL,
    note       text NULL
);

CREATE TABLE dispatch_template (
    id         integer PRIMARY KEY,
    office_id  integer NULL,
    name       varchar(255) NOT NULL,
    steps      text NULL,
    is_active  boolean NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE INDEX dispatch_patient_doctor_id_idx ON dispatch_patient (doctor_id);
CREATE INDEX dispatch_patient_office_id_idx ON dispatch_patient (office_id);
CREATE INDEX dispatch_patient_updated_at_idx ON dispatch_patient (updated_at);
CREATE INDEX dispatch_office_doctors_user_id_idx ON dispatch_office_doctors (user_id);
CREATE INDEX dispatch_office_doctors_office_id_idx ON dispatch_office_doctors (office_id);
CREATE INDEX dispatch_project_patient_id_idx ON dispatch_project (patient_id);
CREATE INDEX dispatch_project_updated_at_idx ON dispatch_project (updated_at);
CREATE INDEX dispatch_state_project_id_idx ON dispatch_state (project_id);
