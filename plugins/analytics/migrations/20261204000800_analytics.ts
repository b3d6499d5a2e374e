import type { Knex } from 'knex';


export const up = async (knex: Knex) => {

    // The zone a tenant's days and weeks are counted in, until a request names another

    await knex.raw(`ALTER TABLE tenants ADD COLUMN timezone text NOT NULL DEFAULT 'UTC'`);

    // Ended calls counted two ways, each for its readers. By the 15 minutes (UTC) they were placed
    // in and campaign, for calls over time: every real zone's offset is a whole number of quarter
    // hours, so quarter hours add up exactly to any zone's hours, days and weeks. By the UTC day,
    // campaign and outcome, for totals and the outcome breakdown. answered_seconds is the talk
    // time of answered calls, for their average. Rows are counters updated in place: room is left
    // in their pages for the new versions (HOT updates, no index writes). No row counts more than
    // one campaign: a call's end already waits for its campaign's row, and must wait for no other.

    await knex.raw(`
        CREATE TABLE calls_per_quarter_hour (
            tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            quarter_hour timestamptz NOT NULL,
            campaign_id uuid NOT NULL,
            calls integer NOT NULL,
            answered integer NOT NULL,
            answered_seconds bigint NOT NULL,
            billed_minutes bigint NOT NULL,
            PRIMARY KEY (tenant_id, quarter_hour, campaign_id)
        ) WITH (fillfactor = 80)
    `);

    await knex.raw('CREATE INDEX calls_per_quarter_hour_campaign ON calls_per_quarter_hour (tenant_id, campaign_id, quarter_hour)');

    await knex.raw(`
        CREATE TABLE calls_per_day (
            tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            day timestamptz NOT NULL,
            campaign_id uuid NOT NULL,
            outcome text NOT NULL,
            calls integer NOT NULL,
            answered integer NOT NULL,
            answered_seconds bigint NOT NULL,
            billed_minutes bigint NOT NULL,
            PRIMARY KEY (tenant_id, day, campaign_id, outcome)
        ) WITH (fillfactor = 80)
    `);

    // Kept in the transaction that changes a call, by triggers that run only when an ended call is
    // concerned: its end (the one the webhooks make by the thousand: two upserts), a correction of
    // an ended call (a late busy, a late duration), a removal. Progress of live calls passes the
    // triggers' WHEN without running them. They run at commit (deferred), so that the counts' rows
    // are always the last a transaction locks, after the tenant's and the campaign's, in every
    // path: no two transactions wait for each other. The live statuses are the dialer's
    // liveCallStatuses.

    await knex.raw(`
        CREATE FUNCTION calls_analytics_apply(c calls, sign integer) RETURNS void LANGUAGE plpgsql AS $$
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

        CREATE FUNCTION calls_analytics_count() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' AND OLD.status NOT IN ('dialing', 'ringing', 'in_progress') THEN
                PERFORM calls_analytics_apply(OLD, -1);
            END IF;

            IF TG_OP <> 'DELETE' AND NEW.status NOT IN ('dialing', 'ringing', 'in_progress') THEN
                PERFORM calls_analytics_apply(NEW, 1);
            END IF;

            RETURN NULL;
        END $$;

        CREATE FUNCTION calls_analytics_clear() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            TRUNCATE calls_per_quarter_hour, calls_per_day;
            RETURN NULL;
        END $$;

        CREATE CONSTRAINT TRIGGER calls_analytics_insert AFTER INSERT ON calls DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        WHEN (NEW.status NOT IN ('dialing', 'ringing', 'in_progress'))
        EXECUTE FUNCTION calls_analytics_count();

        CREATE CONSTRAINT TRIGGER calls_analytics_update AFTER UPDATE ON calls DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        WHEN ((OLD.status NOT IN ('dialing', 'ringing', 'in_progress') OR NEW.status NOT IN ('dialing', 'ringing', 'in_progress'))
            AND (OLD.status IN ('dialing', 'ringing', 'in_progress'), OLD.tenant_id, OLD.campaign_id, OLD.created_at, OLD.outcome, OLD.answered_at IS NULL, OLD.duration_seconds, OLD.billed_minutes)
                IS DISTINCT FROM (NEW.status IN ('dialing', 'ringing', 'in_progress'), NEW.tenant_id, NEW.campaign_id, NEW.created_at, NEW.outcome, NEW.answered_at IS NULL, NEW.duration_seconds, NEW.billed_minutes))
        EXECUTE FUNCTION calls_analytics_count();

        CREATE CONSTRAINT TRIGGER calls_analytics_delete AFTER DELETE ON calls DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        WHEN (OLD.status NOT IN ('dialing', 'ringing', 'in_progress'))
        EXECUTE FUNCTION calls_analytics_count();

        CREATE TRIGGER calls_analytics_truncate AFTER TRUNCATE ON calls FOR EACH STATEMENT EXECUTE FUNCTION calls_analytics_clear();
    `);

    // The counts made again from the calls, for one tenant or all, written in key order so that a
    // tenant's range is read from few pages. Writes to calls wait for it (a share lock), so no end
    // lands between the count and its replacement; readers do not.

    await knex.raw(`
        CREATE FUNCTION calls_analytics_rebuild(only_tenant uuid DEFAULT NULL) RETURNS integer LANGUAGE plpgsql AS $$
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
            WHERE status NOT IN ('dialing', 'ringing', 'in_progress') AND (only_tenant IS NULL OR tenant_id = only_tenant)
            GROUP BY 1, 2, 3, 4
            ORDER BY 1, 2, 3, 4;

            INSERT INTO calls_per_quarter_hour
            SELECT tenant_id, date_bin('15 minutes', created_at, TIMESTAMPTZ 'epoch'), campaign_id,
                count(*), count(answered_at), COALESCE(sum(duration_seconds) FILTER (WHERE answered_at IS NOT NULL), 0), sum(billed_minutes)
            FROM calls
            WHERE status NOT IN ('dialing', 'ringing', 'in_progress') AND (only_tenant IS NULL OR tenant_id = only_tenant)
            GROUP BY 1, 2, 3
            ORDER BY 1, 2, 3;

            SELECT COALESCE(sum(calls), 0) INTO counted FROM calls_per_day WHERE only_tenant IS NULL OR tenant_id = only_tenant;
            RETURN counted;
        END $$;
    `);
};


export const down = async (knex: Knex) => {

    await knex.raw(`
        DROP TRIGGER calls_analytics_insert ON calls;
        DROP TRIGGER calls_analytics_update ON calls;
        DROP TRIGGER calls_analytics_delete ON calls;
        DROP TRIGGER calls_analytics_truncate ON calls;
        DROP FUNCTION calls_analytics_rebuild(uuid), calls_analytics_count(), calls_analytics_clear(), calls_analytics_apply(calls, integer);
        DROP TABLE calls_per_day, calls_per_quarter_hour;
        ALTER TABLE tenants DROP COLUMN timezone;
    `);
};
