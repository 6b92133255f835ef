-- A first sign-up on PostgreSQL in one round trip: the SQL twin of the rules in
-- resolvers/signup_rules.py (each section below names its Python twin) and of the write in
-- resolvers/signup.py. resolvers/signup_pg.py installs it at start-up and calls it;
-- tests/activity/test_signup_twins.py runs the same cases through both and compares.
--
-- One implicit transaction: the activity-row lock is held only for the rest of the call and
-- its commit. Each statement takes a fresh snapshot, so the overlap check after the person's
-- row lock sees any of their sign-ups committed while it waited (a single statement cannot:
-- its snapshot predates its lock waits), and the activity is re-read once locked, so one
-- UPDATE decides CONFIRMED vs WAITLISTED on the row as it is. The arrival time is
-- clock_timestamp(): when it got the row, which is the waitlist order.
--
-- Returns one row: `outcome` (signup_rules.Outcome) and, for CONFIRMED and WAITLISTED, the new
-- sign-up (sign_up_id, created_at) and the row's counts after the change. Code versioned by
-- its name: a change of its result needs a new name (workers of the old release still call
-- the old one during a rolling restart).
CREATE OR REPLACE FUNCTION tongxin_sign_up_v2(p_volunteer int, p_activity int,
                                              p_now timestamptz, p_checked boolean)
RETURNS TABLE (outcome text, sign_up_id int, created_at timestamptz, capacity int,
               taken_count int, waitlist_count int, waitlist_seq int, version int,
               status text, offered_count int)
LANGUAGE plpgsql AS $fn$
DECLARE
  act activity%ROWTYPE;
  full_now boolean;
  place boolean;
  new_id int;
  new_at timestamptz;
BEGIN
  -- check_sign_up's rules in one read: open (signup_rules.check_open), no sign-up of this
  -- person yet (signup_rules.holds_place: the portable path returns or revives it), and the
  -- requirements (requirements.check_requirements) unless the caller checked them (p_checked)
  SELECT * INTO act FROM activity a
   WHERE a.id = p_activity AND a.status = 'PUBLISHED' AND a.sign_up_deadline > p_now
     AND (p_checked OR NOT a.has_requirements OR (
          -- requirements: old enough on the start's date in Beijing, every required
          -- qualification valid at the start
          (a.minimum_age IS NULL OR EXISTS (
             SELECT 1 FROM volunteer v WHERE v.id = p_volunteer AND v.birth_date <=
               ((a.starts_at AT TIME ZONE INTERVAL '+08:00')::date
                - make_interval(years => a.minimum_age))::date))
          AND NOT EXISTS (
             SELECT 1 FROM activity_qualification r WHERE r.activity_id = a.id
                AND NOT EXISTS (SELECT 1 FROM qualification q
                                 WHERE q.volunteer_id = p_volunteer AND q.name = r.name
                                   AND (q.expires_at IS NULL OR q.expires_at > a.starts_at)))))
     AND NOT EXISTS (SELECT 1 FROM sign_up s
                      WHERE s.activity_id = p_activity AND s.volunteer_id = p_volunteer);
  IF NOT FOUND THEN
    -- which rule refused, in check_sign_up's order (signup_rules.visible first); off the hot
    -- path, and the caller asks the reads for the exact answer
    SELECT * INTO act FROM activity a WHERE a.id = p_activity;
    RETURN QUERY SELECT CASE
        WHEN act.id IS NULL OR act.status = 'DRAFT' THEN 'NOT_FOUND'
        WHEN EXISTS (SELECT 1 FROM sign_up s WHERE s.activity_id = p_activity
                       AND s.volunteer_id = p_volunteer) THEN 'SIGNED_UP'
        WHEN act.status <> 'PUBLISHED' THEN 'CLOSED'
        WHEN act.sign_up_deadline <= p_now THEN 'DEADLINE_PASSED'
        ELSE 'INELIGIBLE' END,
      NULL::int, NULL::timestamptz, NULL::int, NULL::int, NULL::int, NULL::int, NULL::int,
      NULL::text, NULL::int;
    RETURN;
  END IF;
  -- Viewer.require_active: an ACTIVE account (a deferred viewer's was not read)
  PERFORM 1 FROM volunteer v WHERE v.id = p_volunteer AND v.status = 'ACTIVE';
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'INACTIVE', NULL::int, NULL::timestamptz, NULL::int, NULL::int,
      NULL::int, NULL::int, NULL::int, NULL::text, NULL::int;
    RETURN;
  END IF;
  -- slots.PLACE_FREE / WAITLIST_FREE on the row as read: full is refused with nothing
  -- locked or written
  full_now := act.taken_count >= act.capacity AND act.waitlist_count >= act.waitlist_limit;
  IF NOT full_now THEN
    -- slots.lock_volunteer: the person's row lock serialises their own sign-ups
    -- and, under it, still ACTIVE: a deletion that held the lock first leaves no place taken
    PERFORM 1 FROM volunteer v WHERE v.id = p_volunteer AND v.status = 'ACTIVE' FOR UPDATE;
    IF NOT FOUND THEN
      RETURN QUERY SELECT 'INACTIVE', NULL::int, NULL::timestamptz, NULL::int, NULL::int,
        NULL::int, NULL::int, NULL::int, NULL::text, NULL::int;
      RETURN;
    END IF;
  END IF;
  -- waitlist.holds_overlapping (OVERLAP_SQL), named before FULL as the portable path does
  IF EXISTS (SELECT 1 FROM sign_up s JOIN activity a ON a.id = s.activity_id
              WHERE s.volunteer_id = p_volunteer AND s.status = 'CONFIRMED'
                AND a.id <> p_activity AND a.status IN ('PUBLISHED', 'FINISHED')
                AND a.starts_at < act.ends_at AND a.ends_at > act.starts_at) THEN
    RETURN QUERY SELECT 'OVERLAP', NULL::int, NULL::timestamptz, NULL::int, NULL::int,
      NULL::int, NULL::int, NULL::int, NULL::text, NULL::int;
    RETURN;
  END IF;
  IF full_now THEN
    RETURN QUERY SELECT 'FULL', NULL::int, NULL::timestamptz, NULL::int, NULL::int,
      NULL::int, NULL::int, NULL::int, NULL::text, NULL::int;
    RETURN;
  END IF;
  -- the write (signup._sign_up_in): the locked row re-checked as slots.OPEN, PLACE_FREE and
  -- WAITLIST_FREE do (signup_rules.refusal_after_write), then TAKE_PLACE or JOIN_WAITLIST
  SELECT * INTO act FROM activity a WHERE a.id = p_activity FOR UPDATE;
  IF act.status <> 'PUBLISHED' OR act.sign_up_deadline <= p_now
     OR (act.taken_count >= act.capacity AND act.waitlist_count >= act.waitlist_limit) THEN
    RETURN QUERY SELECT CASE WHEN act.status <> 'PUBLISHED' THEN 'CLOSED'
                             WHEN act.sign_up_deadline <= p_now THEN 'DEADLINE_PASSED'
                             ELSE 'FULL' END,
      NULL::int, NULL::timestamptz, NULL::int, NULL::int, NULL::int, NULL::int, NULL::int,
      NULL::text, NULL::int;
    RETURN;
  END IF;
  place := act.taken_count < act.capacity;
  UPDATE activity a SET
      taken_count = a.taken_count + CASE WHEN place THEN 1 ELSE 0 END,
      waitlist_count = a.waitlist_count + CASE WHEN place THEN 0 ELSE 1 END,
      waitlist_seq = a.waitlist_seq + CASE WHEN place THEN 0 ELSE 1 END,
      version = a.version + 1
   WHERE a.id = p_activity
  RETURNING * INTO act;
  INSERT INTO sign_up (activity_id, volunteer_id, status, waitlist_seq, created_at, updated_at)
  VALUES (p_activity, p_volunteer, CASE WHEN place THEN 'CONFIRMED' ELSE 'WAITLISTED' END,
          CASE WHEN place THEN NULL ELSE act.waitlist_seq END, clock_timestamp(),
          clock_timestamp())
  RETURNING sign_up.id, sign_up.created_at INTO new_id, new_at;
  RETURN QUERY SELECT CASE WHEN place THEN 'CONFIRMED' ELSE 'WAITLISTED' END, new_id, new_at,
    act.capacity, act.taken_count, act.waitlist_count, act.waitlist_seq, act.version,
    act.status::text, act.offered_count;
END $fn$;
