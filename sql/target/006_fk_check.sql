-- Foreign keys checked set-based, once per phase (MDW_FK_CHECKS=phase,
-- docs/operations.md): workers may load with session_replication_role =
-- replica, which skips Postgres' per-row FK triggers. The coordinator's
-- validation then counts, for every foreign key of the phase's tables, the
-- rows whose reference resolves to no parent row; any such row fails the
-- phase. (MATCH SIMPLE, as declared: a reference with a NULL column is not
-- checked.)
CREATE OR REPLACE FUNCTION mdw.dangling_refs(tbl regclass)
RETURNS TABLE (constraint_name name, parent regclass, dangling bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    fk record;
    joined text;
    present text;
BEGIN
    FOR fk IN SELECT c.conname, c.confrelid::regclass AS ref, c.conkey, c.confkey
                FROM pg_constraint c WHERE c.conrelid = tbl AND c.contype = 'f' ORDER BY c.conname
    LOOP
        SELECT string_agg(format('p.%I = t.%I', pa.attname, ca.attname), ' AND '),
               string_agg(format('t.%I IS NOT NULL', ca.attname), ' AND ')
          INTO joined, present
          FROM unnest(fk.conkey, fk.confkey) AS k(child, par)
          JOIN pg_attribute ca ON ca.attrelid = tbl AND ca.attnum = k.child
          JOIN pg_attribute pa ON pa.attrelid = fk.ref AND pa.attnum = k.par;
        constraint_name := fk.conname;
        parent := fk.ref;
        EXECUTE format('SELECT count(*) FROM %s t WHERE %s AND NOT EXISTS (SELECT 1 FROM %s p WHERE %s)',
                       tbl, present, fk.ref, joined) INTO dangling;
        RETURN NEXT;
    END LOOP;
END
$$;
