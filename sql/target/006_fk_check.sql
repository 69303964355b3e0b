-- Foreign keys checked set-based, once per phase (MDW_FK_CHECKS=phase,
-- docs/operations.md): workers may load with session_replication_role =
-- replica, which skips Postgres' per-row FK triggers. The coordinator's
-- validation then counts, for every foreign key of the phase's tables, the
-- rows whose reference resolves to no parent row; any such row fails the
-- phase. (MATCH SIMPLE, as declared: a reference with a NULL column is not
-- checked.)

-- The rows of the constrained table whose reference of foreign key CON
-- (a pg_constraint oid) resolves to no row of the referenced table.
CREATE OR REPLACE FUNCTION mdw.fk_dangling(con oid)
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    fk record;
    joined text;
    present text;
    n bigint;
BEGIN
    SELECT c.conrelid::regclass AS child, c.confrelid::regclass AS ref, c.conkey, c.confkey, c.conrelid, c.confrelid
      INTO fk FROM pg_constraint c WHERE c.oid = con AND c.contype = 'f';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no foreign key with oid %', con;
    END IF;
    SELECT string_agg(format('p.%I = t.%I', pa.attname, ca.attname), ' AND '),
           string_agg(format('t.%I IS NOT NULL', ca.attname), ' AND ')
      INTO joined, present
      FROM unnest(fk.conkey, fk.confkey) AS k(child, par)
      JOIN pg_attribute ca ON ca.attrelid = fk.conrelid AND ca.attnum = k.child
      JOIN pg_attribute pa ON pa.attrelid = fk.confrelid AND pa.attnum = k.par;
    EXECUTE format('SELECT count(*) FROM %s t WHERE %s AND NOT EXISTS (SELECT 1 FROM %s p WHERE %s)',
                   fk.child, present, fk.ref, joined) INTO n;
    RETURN n;
END
$$;

-- Every foreign key of table TBL with its dangling rows (for operators:
-- SELECT * FROM mdw.dangling_refs('cases')).
CREATE OR REPLACE FUNCTION mdw.dangling_refs(tbl regclass)
RETURNS TABLE (constraint_name name, parent regclass, dangling bigint)
LANGUAGE sql STABLE AS $$
    SELECT c.conname, c.confrelid::regclass, mdw.fk_dangling(c.oid)
      FROM pg_constraint c WHERE c.conrelid = tbl AND c.contype = 'f' ORDER BY c.conname
$$;
