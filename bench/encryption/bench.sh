# bench/encryption: ai_guard encrypt/decrypt against pgcrypto, and against
# the floor (the same scan with length()), for one value size per run:
#
#   AG_BENCH_SIZE=32   AG_BENCH_ROWS=1000000 sudo bash bench/run.sh encryption 5
#   AG_BENCH_SIZE=1024 AG_BENCH_ROWS=1000000 sudo bash bench/run.sh encryption 5
#
# Variants (all single-process: max_parallel_workers_per_gather = 0, since
# ai_guard's functions are PARALLEL RESTRICTED and pgcrypto's are not):
#   floor          SELECT sum(length(v))                      over ROWS rows
#   aig_gcm_enc    ai_guard.encrypt(v, 'bench_gcm')            AES-256-GCM, random nonce
#   aig_gcm_dec    ai_guard.decrypt(c)
#   aig_siv_enc    ai_guard.encrypt(v, 'bench_siv')            AES-256-SIV, deterministic
#   aig_siv_dec    ai_guard.decrypt(c)
#   raw_enc        pgcrypto encrypt(v, key, 'aes')            AES-256-CBC, no authentication
#   raw_dec        pgcrypto decrypt(c, key, 'aes')
#   pgp_enc        pgp_sym_encrypt_bytea(v, psw)              over PGP_ROWS rows only
#   pgp_dec        pgp_sym_decrypt_bytea(c, psw)              over PGP_ROWS rows only
# Each table holds one column so that rows stay below the TOAST threshold.

BENCH_SIZE=${AG_BENCH_SIZE:-32}
BENCH_ROWS=${AG_BENCH_ROWS:-1000000}
BENCH_PGP_ROWS=${AG_BENCH_PGP_ROWS:-10000}
BENCH_VARIANTS=(floor aig_gcm_enc aig_gcm_dec aig_siv_enc aig_siv_dec raw_enc raw_dec pgp_enc pgp_dec)
export PGOPTIONS='-c max_parallel_workers_per_gather=0 -c jit=off'
BENCH_RAWKEY="'\\x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'::bytea"

bench_sql() { psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }

bench_setup() {
	ag_say "encryption: $BENCH_ROWS rows of $BENCH_SIZE bytes (pgp: $BENCH_PGP_ROWS rows)"
	psql -X -q -v ON_ERROR_STOP=1 <<SQL >/dev/null
CREATE EXTENSION pgcrypto;
CREATE EXTENSION ai_guard;
SELECT ai_guard.create_key('bench_gcm', 'aes-256-gcm');
SELECT ai_guard.create_key('bench_siv', 'aes-256-siv');
CREATE UNLOGGED TABLE plain AS
  SELECT gen_random_bytes($BENCH_SIZE) AS v FROM generate_series(1, $BENCH_ROWS);
CREATE UNLOGGED TABLE aig_gcm AS SELECT ai_guard.encrypt(v, 'bench_gcm') AS c FROM plain;
CREATE UNLOGGED TABLE aig_siv AS SELECT ai_guard.encrypt(v, 'bench_siv') AS c FROM plain;
CREATE UNLOGGED TABLE raw AS SELECT encrypt(v, $BENCH_RAWKEY, 'aes') AS c FROM plain;
CREATE UNLOGGED TABLE pgp_plain AS SELECT v FROM plain LIMIT $BENCH_PGP_ROWS;
CREATE UNLOGGED TABLE pgp AS SELECT pgp_sym_encrypt_bytea(v, 'bench passphrase') AS c FROM pgp_plain;
VACUUM ANALYZE;
-- warm the caches
SELECT count(*) FROM plain; SELECT count(*) FROM aig_gcm; SELECT count(*) FROM aig_siv;
SELECT count(*) FROM raw; SELECT count(*) FROM pgp;
SQL
	# every ciphertext authenticates (AEAD), so a full-length result is a round trip
	[ "$(bench_sql "SELECT count(*) FROM aig_siv WHERE length(ai_guard.decrypt(c)) = $BENCH_SIZE")" = "$BENCH_ROWS" ] ||
		ag_die "ai_guard round trip check failed"
	bench_sql "SELECT pg_size_pretty(pg_total_relation_size('plain')), pg_size_pretty(pg_total_relation_size('aig_gcm'))" >&2
}

bench_run_floor() { bench_sql "SELECT sum(length(v)) FROM plain"; }
bench_run_aig_gcm_enc() { bench_sql "SELECT sum(length(ai_guard.encrypt(v, 'bench_gcm'))) FROM plain"; }
bench_run_aig_gcm_dec() { bench_sql "SELECT sum(length(ai_guard.decrypt(c))) FROM aig_gcm"; }
bench_run_aig_siv_enc() { bench_sql "SELECT sum(length(ai_guard.encrypt(v, 'bench_siv'))) FROM plain"; }
bench_run_aig_siv_dec() { bench_sql "SELECT sum(length(ai_guard.decrypt(c))) FROM aig_siv"; }
bench_run_raw_enc() { bench_sql "SELECT sum(length(encrypt(v, $BENCH_RAWKEY, 'aes'))) FROM plain"; }
bench_run_raw_dec() { bench_sql "SELECT sum(length(decrypt(c, $BENCH_RAWKEY, 'aes'))) FROM raw"; }
bench_run_pgp_enc() { bench_sql "SELECT sum(length(pgp_sym_encrypt_bytea(v, 'bench passphrase'))) FROM pgp_plain"; }
bench_run_pgp_dec() { bench_sql "SELECT sum(length(pgp_sym_decrypt_bytea(c, 'bench passphrase'))) FROM pgp"; }
