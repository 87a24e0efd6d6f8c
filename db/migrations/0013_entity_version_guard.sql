-- A transaction that applies an event on an entity it did not read (the state a job's claim handed
-- over: server/engine/state-store.ts, `assumed`) first locks the entity's row and checks that it is
-- still at that version. If it has moved on, the transaction fails as a serialization failure
-- (40001), which the engine retries with a read.
CREATE FUNCTION deployer_expect_version(actual integer, expected integer, what text) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF actual IS DISTINCT FROM expected THEN
    RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = format('%s is at version %s, not %s as assumed: it moved since it was read', what, actual, expected);
  END IF;
  RETURN actual;
END
$$;
