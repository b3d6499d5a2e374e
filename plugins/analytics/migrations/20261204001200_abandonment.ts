import type { Knex } from 'knex';


// Abandonment in the kept counts (the dialer's abandonment.ts says what it is): per row, the ended
// calls that were live-answered (the agent's first audio measured, no machine took the call) and
// the abandoned among them. These two count by the answer (the placing when no answer was
// recorded), as the campaign stats' windows do, where the rest of a row counts by the placing: a
// call rung across the end of a quarter hour counts in that quarter hour and its answer in the
// next, a row of the same campaign, so a row may have answers and no calls.

const live = `'dialing', 'ringing', 'in_progress'`;

const measured = (c: string) => `${c}abandoned IS NOT NULL AND NOT ${c}machine AND ${c}outcome IS DISTINCT FROM 'voicemail'`;


export const up = async (knex: Knex) => {

    // Dropping the trigger locks calls until the commit: no call changes between the counts made
    // below and the new trigger. It comes first, in the order a call's end takes the tables (calls,
    // then the counts), so the two never wait for each other.

    await knex.raw('DROP TRIGGER calls_analytics_update ON calls');

    await knex.raw(`
        ALTER TABLE calls_per_quarter_hour ADD COLUMN live_answered integer NOT NULL DEFAULT 0, ADD COLUMN abandoned integer NOT NULL DEFAULT 0;
        ALTER TABLE calls_per_day ADD COLUMN live_answered integer NOT NULL DEFAULT 0, ADD COLUMN abandoned integer NOT NULL DEFAULT 0;
    `);

    // A row's counts changed by one call, added (sign 1) or taken back (sign -1). Taking back is an
    // update, not an upsert: when the tenant itself is being removed its rows may be gone already.

    await knex.raw(`
        CREATE FUNCTION calls_analytics_add_quarter_hour(tenant uuid, bin timestamptz, campaign uuid, sign integer,
            n integer, n_answered integer, talk bigint, minutes bigint, n_live integer, n_abandoned integer) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            IF sign > 0 THEN
                INSERT INTO calls_per_quarter_hour AS t (tenant_id, quarter_hour, campaign_id, calls, answered, answered_seconds, billed_minutes, live_answered, abandoned)
                VALUES (tenant, bin, campaign, n, n_answered, talk, minutes, n_live, n_abandoned)
                ON CONFLICT (tenant_id, quarter_hour, campaign_id) DO UPDATE SET calls = t.calls + EXCLUDED.calls, answered = t.answered + EXCLUDED.answered,
                    answered_seconds = t.answered_seconds + EXCLUDED.answered_seconds, billed_minutes = t.billed_minutes + EXCLUDED.billed_minutes,
                    live_answered = t.live_answered + EXCLUDED.live_answered, abandoned = t.abandoned + EXCLUDED.abandoned;
                RETURN;
            END IF;

            UPDATE calls_per_quarter_hour SET calls = calls - n, answered = answered - n_answered, answered_seconds = answered_seconds - talk,
                billed_minutes = billed_minutes - minutes, live_answered = live_answered - n_live, abandoned = abandoned - n_abandoned
            WHERE tenant_id = tenant AND quarter_hour = bin AND campaign_id = campaign;
            DELETE FROM calls_per_quarter_hour WHERE tenant_id = tenant AND quarter_hour = bin AND campaign_id = campaign AND calls = 0 AND live_answered = 0;
        END $$;

        CREATE FUNCTION calls_analytics_add_day(tenant uuid, bin timestamptz, campaign uuid, kind text, sign integer,
            n integer, n_answered integer, talk bigint, minutes bigint, n_live integer, n_abandoned integer) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            IF sign > 0 THEN
                INSERT INTO calls_per_day AS t (tenant_id, day, campaign_id, outcome, calls, answered, answered_seconds, billed_minutes, live_answered, abandoned)
                VALUES (tenant, bin, campaign, kind, n, n_answered, talk, minutes, n_live, n_abandoned)
                ON CONFLICT (tenant_id, day, campaign_id, outcome) DO UPDATE SET calls = t.calls + EXCLUDED.calls, answered = t.answered + EXCLUDED.answered,
                    answered_seconds = t.answered_seconds + EXCLUDED.answered_seconds, billed_minutes = t.billed_minutes + EXCLUDED.billed_minutes,
                    live_answered = t.live_answered + EXCLUDED.live_answered, abandoned = t.abandoned + EXCLUDED.abandoned;
                RETURN;
            END IF;

            UPDATE calls_per_day SET calls = calls - n, answered = answered - n_answered, answered_seconds = answered_seconds - talk,
                billed_minutes = billed_minutes - minutes, live_answered = live_answered - n_live, abandoned = abandoned - n_abandoned
            WHERE tenant_id = tenant AND day = bin AND campaign_id = campaign AND outcome = kind;
            DELETE FROM calls_per_day WHERE tenant_id = tenant AND day = bin AND campaign_id = campaign AND outcome = kind AND calls = 0 AND live_answered = 0;
        END $$;
    `);

    // The answer's counts go in the call's own row when they share its quarter hour (day): one
    // write, as before. Otherwise the two rows are written in time order, in every transaction the
    // same way round, so no two wait for each other.

    await knex.raw(`
        CREATE OR REPLACE FUNCTION calls_analytics_apply(c calls, sign integer) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            at_quarter_hour timestamptz := date_bin('15 minutes', c.created_at, TIMESTAMPTZ 'epoch');
            at_day timestamptz := date_bin('1 day', c.created_at, TIMESTAMPTZ 'epoch');
            answer_quarter_hour timestamptz := date_bin('15 minutes', COALESCE(c.answered_at, c.created_at), TIMESTAMPTZ 'epoch');
            answer_day timestamptz := date_bin('1 day', COALESCE(c.answered_at, c.created_at), TIMESTAMPTZ 'epoch');
            kind text := COALESCE(c.outcome, 'unknown');
            was_answered integer := CASE WHEN c.answered_at IS NULL THEN 0 ELSE 1 END;
            talk bigint := CASE WHEN c.answered_at IS NULL THEN 0 ELSE c.duration_seconds END;
            was_live integer := CASE WHEN ${measured('c.')} THEN 1 ELSE 0 END;
            was_abandoned integer := CASE WHEN ${measured('c.')} AND c.abandoned THEN 1 ELSE 0 END;
        BEGIN
            IF was_live = 0 OR answer_quarter_hour = at_quarter_hour THEN
                PERFORM calls_analytics_add_quarter_hour(c.tenant_id, at_quarter_hour, c.campaign_id, sign, 1, was_answered, talk, c.billed_minutes, was_live, was_abandoned);
            ELSIF answer_quarter_hour > at_quarter_hour THEN
                PERFORM calls_analytics_add_quarter_hour(c.tenant_id, at_quarter_hour, c.campaign_id, sign, 1, was_answered, talk, c.billed_minutes, 0, 0);
                PERFORM calls_analytics_add_quarter_hour(c.tenant_id, answer_quarter_hour, c.campaign_id, sign, 0, 0, 0, 0, was_live, was_abandoned);
            ELSE
                PERFORM calls_analytics_add_quarter_hour(c.tenant_id, answer_quarter_hour, c.campaign_id, sign, 0, 0, 0, 0, was_live, was_abandoned);
                PERFORM calls_analytics_add_quarter_hour(c.tenant_id, at_quarter_hour, c.campaign_id, sign, 1, was_answered, talk, c.billed_minutes, 0, 0);
            END IF;

            IF was_live = 0 OR answer_day = at_day THEN
                PERFORM calls_analytics_add_day(c.tenant_id, at_day, c.campaign_id, kind, sign, 1, was_answered, talk, c.billed_minutes, was_live, was_abandoned);
            ELSIF answer_day > at_day THEN
                PERFORM calls_analytics_add_day(c.tenant_id, at_day, c.campaign_id, kind, sign, 1, was_answered, talk, c.billed_minutes, 0, 0);
                PERFORM calls_analytics_add_day(c.tenant_id, answer_day, c.campaign_id, kind, sign, 0, 0, 0, 0, was_live, was_abandoned);
            ELSE
                PERFORM calls_analytics_add_day(c.tenant_id, answer_day, c.campaign_id, kind, sign, 0, 0, 0, 0, was_live, was_abandoned);
                PERFORM calls_analytics_add_day(c.tenant_id, at_day, c.campaign_id, kind, sign, 1, was_answered, talk, c.billed_minutes, 0, 0);
            END IF;
        END $$;
    `);

    // The ended calls counted so far, their answers added (every row's new counts are zero)

    await knex.raw(`
        INSERT INTO calls_per_quarter_hour AS t (tenant_id, quarter_hour, campaign_id, calls, answered, answered_seconds, billed_minutes, live_answered, abandoned)
        SELECT tenant_id, date_bin('15 minutes', COALESCE(answered_at, created_at), TIMESTAMPTZ 'epoch'), campaign_id, 0, 0, 0, 0, count(*), count(*) FILTER (WHERE abandoned)
        FROM calls
        WHERE status NOT IN (${live}) AND ${measured('')}
        GROUP BY 1, 2, 3
        ON CONFLICT (tenant_id, quarter_hour, campaign_id) DO UPDATE SET live_answered = EXCLUDED.live_answered, abandoned = EXCLUDED.abandoned;

        INSERT INTO calls_per_day AS t (tenant_id, day, campaign_id, outcome, calls, answered, answered_seconds, billed_minutes, live_answered, abandoned)
        SELECT tenant_id, date_bin('1 day', COALESCE(answered_at, created_at), TIMESTAMPTZ 'epoch'), campaign_id, COALESCE(outcome, 'unknown'), 0, 0, 0, 0, count(*), count(*) FILTER (WHERE abandoned)
        FROM calls
        WHERE status NOT IN (${live}) AND ${measured('')}
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (tenant_id, day, campaign_id, outcome) DO UPDATE SET live_answered = EXCLUDED.live_answered, abandoned = EXCLUDED.abandoned;
    `);

    // As before, and a change to an ended call's answer, measure or machine is a correction too:
    // the voice socket writes the agent's first audio (or, hung up on before the agent spoke, its
    // absence as the socket closes) and that may land after the end's webhook, which itself marks
    // an answer still unheard as abandoned; and a machine may be found after the answer

    await knex.raw(`
        CREATE CONSTRAINT TRIGGER calls_analytics_update AFTER UPDATE ON calls DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        WHEN ((OLD.status NOT IN (${live}) OR NEW.status NOT IN (${live}))
            AND (OLD.status IN (${live}), OLD.tenant_id, OLD.campaign_id, OLD.created_at, OLD.outcome, OLD.answered_at, OLD.duration_seconds, OLD.billed_minutes, OLD.abandoned, OLD.machine)
                IS DISTINCT FROM (NEW.status IN (${live}), NEW.tenant_id, NEW.campaign_id, NEW.created_at, NEW.outcome, NEW.answered_at, NEW.duration_seconds, NEW.billed_minutes, NEW.abandoned, NEW.machine))
        EXECUTE FUNCTION calls_analytics_count();
    `);

    // The rebuild counts the answers too: each call's own counts by its placing, its answer's by
    // the answer, added up per row

    await knex.raw(`
        CREATE OR REPLACE FUNCTION calls_analytics_rebuild(only_tenant uuid DEFAULT NULL) RETURNS integer LANGUAGE plpgsql AS $$
        DECLARE
            counted integer;
        BEGIN
            LOCK TABLE calls IN SHARE MODE;

            DELETE FROM calls_per_quarter_hour WHERE only_tenant IS NULL OR tenant_id = only_tenant;
            DELETE FROM calls_per_day WHERE only_tenant IS NULL OR tenant_id = only_tenant;

            INSERT INTO calls_per_day (tenant_id, day, campaign_id, outcome, calls, answered, answered_seconds, billed_minutes, live_answered, abandoned)
            SELECT tenant_id, day, campaign_id, outcome, sum(calls), sum(answered), sum(answered_seconds), sum(billed_minutes), sum(live_answered), sum(abandoned)
            FROM (
                SELECT tenant_id, date_bin('1 day', created_at, TIMESTAMPTZ 'epoch') AS day, campaign_id, COALESCE(outcome, 'unknown') AS outcome,
                    count(*) AS calls, count(answered_at) AS answered, COALESCE(sum(duration_seconds) FILTER (WHERE answered_at IS NOT NULL), 0) AS answered_seconds,
                    sum(billed_minutes) AS billed_minutes, 0 AS live_answered, 0 AS abandoned
                FROM calls
                WHERE status NOT IN (${live}) AND (only_tenant IS NULL OR tenant_id = only_tenant)
                GROUP BY 1, 2, 3, 4
                UNION ALL
                SELECT tenant_id, date_bin('1 day', COALESCE(answered_at, created_at), TIMESTAMPTZ 'epoch'), campaign_id, COALESCE(outcome, 'unknown'),
                    0, 0, 0, 0, count(*), count(*) FILTER (WHERE abandoned)
                FROM calls
                WHERE status NOT IN (${live}) AND ${measured('')} AND (only_tenant IS NULL OR tenant_id = only_tenant)
                GROUP BY 1, 2, 3, 4
            ) parts
            GROUP BY 1, 2, 3, 4
            ORDER BY 1, 2, 3, 4;

            INSERT INTO calls_per_quarter_hour (tenant_id, quarter_hour, campaign_id, calls, answered, answered_seconds, billed_minutes, live_answered, abandoned)
            SELECT tenant_id, quarter_hour, campaign_id, sum(calls), sum(answered), sum(answered_seconds), sum(billed_minutes), sum(live_answered), sum(abandoned)
            FROM (
                SELECT tenant_id, date_bin('15 minutes', created_at, TIMESTAMPTZ 'epoch') AS quarter_hour, campaign_id,
                    count(*) AS calls, count(answered_at) AS answered, COALESCE(sum(duration_seconds) FILTER (WHERE answered_at IS NOT NULL), 0) AS answered_seconds,
                    sum(billed_minutes) AS billed_minutes, 0 AS live_answered, 0 AS abandoned
                FROM calls
                WHERE status NOT IN (${live}) AND (only_tenant IS NULL OR tenant_id = only_tenant)
                GROUP BY 1, 2, 3
                UNION ALL
                SELECT tenant_id, date_bin('15 minutes', COALESCE(answered_at, created_at), TIMESTAMPTZ 'epoch'), campaign_id,
                    0, 0, 0, 0, count(*), count(*) FILTER (WHERE abandoned)
                FROM calls
                WHERE status NOT IN (${live}) AND ${measured('')} AND (only_tenant IS NULL OR tenant_id = only_tenant)
                GROUP BY 1, 2, 3
            ) parts
            GROUP BY 1, 2, 3
            ORDER BY 1, 2, 3;

            SELECT COALESCE(sum(calls), 0) INTO counted FROM calls_per_day WHERE only_tenant IS NULL OR tenant_id = only_tenant;
            RETURN counted;
        END $$;
    `);

    // The ends of a range that are not whole quarter hours are counted from the calls by their
    // answer: few rows, those whose first audio was measured

    await knex.raw('CREATE INDEX calls_tenant_answer_measured ON calls (tenant_id, (COALESCE(answered_at, created_at))) WHERE abandoned IS NOT NULL');
};


export const down = async (knex: Knex) => {

    await knex.raw('DROP INDEX calls_tenant_answer_measured');
    await knex.raw('DROP TRIGGER calls_analytics_update ON calls');

    // The functions and the trigger of 20261204000800_analytics, as they were

    await knex.raw(`
        CREATE OR REPLACE FUNCTION calls_analytics_apply(c calls, sign integer) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            at_quarter_hour timestamptz := date_bin('15 minutes', c.created_at, TIMESTAMPTZ 'epoch');
            at_day timestamptz := date_bin('1 day', c.created_at, TIMESTAMPTZ 'epoch');
            kind text := COALESCE(c.outcome, 'unknown');
            was_answered integer := CASE WHEN c.answered_at IS NULL THEN 0 ELSE 1 END;
            talk bigint := CASE WHEN c.answered_at IS NULL THEN 0 ELSE c.duration_seconds END;
        BEGIN
            IF sign > 0 THEN
                INSERT INTO calls_per_quarter_hour AS t VALUES (c.tenant_id, at_quarter_hour, c.campaign_id, 1, was_answered, talk, c.billed_minutes)
                ON CONFLICT (tenant_id, quarter_hour, campaign_id) DO UPDATE SET calls = t.calls + 1, answered = t.answered + EXCLUDED.answered,
                    answered_seconds = t.answered_seconds + EXCLUDED.answered_seconds, billed_minutes = t.billed_minutes + EXCLUDED.billed_minutes;

                INSERT INTO calls_per_day AS t VALUES (c.tenant_id, at_day, c.campaign_id, kind, 1, was_answered, talk, c.billed_minutes)
                ON CONFLICT (tenant_id, day, campaign_id, outcome) DO UPDATE SET calls = t.calls + 1, answered = t.answered + EXCLUDED.answered,
                    answered_seconds = t.answered_seconds + EXCLUDED.answered_seconds, billed_minutes = t.billed_minutes + EXCLUDED.billed_minutes;
                RETURN;
            END IF;

            -- An update, not an upsert: when the tenant itself is being removed its rows may be gone already

            UPDATE calls_per_quarter_hour SET calls = calls - 1, answered = answered - was_answered, answered_seconds = answered_seconds - talk, billed_minutes = billed_minutes - c.billed_minutes
            WHERE tenant_id = c.tenant_id AND quarter_hour = at_quarter_hour AND campaign_id = c.campaign_id;
            DELETE FROM calls_per_quarter_hour WHERE tenant_id = c.tenant_id AND quarter_hour = at_quarter_hour AND campaign_id = c.campaign_id AND calls = 0;

            UPDATE calls_per_day SET calls = calls - 1, answered = answered - was_answered, answered_seconds = answered_seconds - talk, billed_minutes = billed_minutes - c.billed_minutes
            WHERE tenant_id = c.tenant_id AND day = at_day AND campaign_id = c.campaign_id AND outcome = kind;
            DELETE FROM calls_per_day WHERE tenant_id = c.tenant_id AND day = at_day AND campaign_id = c.campaign_id AND outcome = kind AND calls = 0;
        END $$;

        CREATE OR REPLACE FUNCTION calls_analytics_rebuild(only_tenant uuid DEFAULT NULL) RETURNS integer LANGUAGE plpgsql AS $$
        DECLARE
            counted integer;
        BEGIN
            LOCK TABLE calls IN SHARE MODE;

            DELETE FROM calls_per_quarter_hour WHERE only_tenant IS NULL OR tenant_id = only_tenant;
            DELETE FROM calls_per_day WHERE only_tenant IS NULL OR tenant_id = only_tenant;

            INSERT INTO calls_per_day
            SELECT tenant_id, date_bin('1 day', created_at, TIMESTAMPTZ 'epoch'), campaign_id, COALESCE(outcome, 'unknown'),
                count(*), count(answered_at), COALESCE(sum(duration_seconds) FILTER (WHERE answered_at IS NOT NULL), 0), sum(billed_minutes)
            FROM calls
            WHERE status NOT IN (${live}) AND (only_tenant IS NULL OR tenant_id = only_tenant)
            GROUP BY 1, 2, 3, 4
            ORDER BY 1, 2, 3, 4;

            INSERT INTO calls_per_quarter_hour
            SELECT tenant_id, date_bin('15 minutes', created_at, TIMESTAMPTZ 'epoch'), campaign_id,
                count(*), count(answered_at), COALESCE(sum(duration_seconds) FILTER (WHERE answered_at IS NOT NULL), 0), sum(billed_minutes)
            FROM calls
            WHERE status NOT IN (${live}) AND (only_tenant IS NULL OR tenant_id = only_tenant)
            GROUP BY 1, 2, 3
            ORDER BY 1, 2, 3;

            SELECT COALESCE(sum(calls), 0) INTO counted FROM calls_per_day WHERE only_tenant IS NULL OR tenant_id = only_tenant;
            RETURN counted;
        END $$;

        CREATE CONSTRAINT TRIGGER calls_analytics_update AFTER UPDATE ON calls DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        WHEN ((OLD.status NOT IN (${live}) OR NEW.status NOT IN (${live}))
            AND (OLD.status IN (${live}), OLD.tenant_id, OLD.campaign_id, OLD.created_at, OLD.outcome, OLD.answered_at IS NULL, OLD.duration_seconds, OLD.billed_minutes)
                IS DISTINCT FROM (NEW.status IN (${live}), NEW.tenant_id, NEW.campaign_id, NEW.created_at, NEW.outcome, NEW.answered_at IS NULL, NEW.duration_seconds, NEW.billed_minutes))
        EXECUTE FUNCTION calls_analytics_count();

        DROP FUNCTION calls_analytics_add_quarter_hour(uuid, timestamptz, uuid, integer, integer, integer, bigint, bigint, integer, integer),
            calls_analytics_add_day(uuid, timestamptz, uuid, text, integer, integer, integer, bigint, bigint, integer, integer);
    `);

    // Rows that held only answers go with the columns

    await knex.raw(`
        DELETE FROM calls_per_quarter_hour WHERE calls = 0;
        DELETE FROM calls_per_day WHERE calls = 0;
        ALTER TABLE calls_per_quarter_hour DROP COLUMN live_answered, DROP COLUMN abandoned;
        ALTER TABLE calls_per_day DROP COLUMN live_answered, DROP COLUMN abandoned;
    `);
};
