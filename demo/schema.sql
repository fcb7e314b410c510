-- demo/schema.sql: the tables of the demo data set (tools/datagen prints rows
-- for them in this column order).
CREATE SCHEMA IF NOT EXISTS demo;

CREATE TABLE demo.customers (
	customer_id   bigint PRIMARY KEY,
	full_name     text NOT NULL,
	email         text NOT NULL,
	phone         text NOT NULL,
	card_number   text NOT NULL,
	iban          text NOT NULL,
	birth_date    date NOT NULL,
	street        text NOT NULL,
	city          text NOT NULL,
	country       text NOT NULL,
	source        text NOT NULL,
	license       text NOT NULL,
	consent       text[] NOT NULL
);

CREATE TABLE demo.tickets (
	ticket_id     bigint PRIMARY KEY,
	customer_id   bigint NOT NULL REFERENCES demo.customers,
	opened_at     timestamptz NOT NULL,
	channel       text NOT NULL,
	subject       text NOT NULL,
	body          text NOT NULL,
	source        text NOT NULL
);
