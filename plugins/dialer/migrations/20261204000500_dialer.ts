import type { Knex } from 'knex';


export const up = async (knex: Knex) => {

    // One job per lead and campaign: the lead's place in the dialer. seq grows at every enqueue and
    // names the one queue message that may act on the job; attempt grows at every dial and fences
    // the webhooks of older attempts. Only the lead is a foreign key: a tenant's or a campaign's
    // removal reaches the jobs through their leads, and a start writes a hundred thousand rows
    // without checking the same tenant and campaign a hundred thousand times.

    await knex.raw(`
        CREATE TABLE dialer_jobs (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            tenant_id uuid NOT NULL,
            campaign_id uuid NOT NULL,
            lead_id uuid NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
            status text NOT NULL DEFAULT 'pending',
            priority integer NOT NULL DEFAULT 5,
            seq integer NOT NULL DEFAULT 1,
            attempt integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz,
            last_outcome text,
            last_decision text,
            decisions jsonb NOT NULL DEFAULT '[]',
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (campaign_id, lead_id)
        )
    `);

    await knex.raw('CREATE INDEX dialer_jobs_campaign_status ON dialer_jobs (campaign_id, status)');
    await knex.raw(`CREATE INDEX dialer_jobs_due ON dialer_jobs (next_attempt_at) WHERE next_attempt_at IS NOT NULL AND status IN ('pending', 'retry_scheduled')`);

    await knex.raw(`
        CREATE TABLE calls (
            id uuid PRIMARY KEY,
            tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
            lead_id uuid NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
            job_id uuid NOT NULL REFERENCES dialer_jobs (id) ON DELETE CASCADE,
            attempt integer NOT NULL,
            provider text NOT NULL,
            provider_call_id text UNIQUE,
            conversation_id text,
            to_number text NOT NULL,
            from_number text,
            status text NOT NULL DEFAULT 'dialing',
            outcome text,
            machine boolean NOT NULL DEFAULT false,
            goal_achieved boolean NOT NULL DEFAULT false,
            answered_at timestamptz,
            ended_at timestamptz,
            duration_seconds integer NOT NULL DEFAULT 0,
            billed_minutes integer NOT NULL DEFAULT 0,
            price numeric(12, 6),
            last_event_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
    `);

    // Never two live calls to one lead

    await knex.raw(`CREATE UNIQUE INDEX calls_one_live_per_lead ON calls (lead_id) WHERE status IN ('dialing', 'ringing', 'in_progress')`);
    await knex.raw('CREATE INDEX calls_campaign_outcome ON calls (campaign_id, outcome)');
    await knex.raw('CREATE INDEX calls_tenant_created ON calls (tenant_id, created_at DESC)');
    await knex.raw(`CREATE INDEX calls_live ON calls (last_event_at) WHERE status IN ('dialing', 'ringing', 'in_progress')`);
    await knex.raw('CREATE INDEX calls_conversation ON calls (conversation_id) WHERE conversation_id IS NOT NULL');

    // Every provider event as received, once per call and status: the dedupe key and the audit trail

    await knex.raw(`
        CREATE TABLE call_events (
            id bigserial PRIMARY KEY,
            call_id uuid REFERENCES calls (id) ON DELETE CASCADE,
            provider_call_id text NOT NULL,
            status text NOT NULL,
            applied boolean NOT NULL,
            payload jsonb NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (provider_call_id, status)
        )
    `);

    await knex.raw('CREATE INDEX call_events_call ON call_events (call_id)');

    await knex.raw(`
        CREATE TABLE recordings (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            call_id uuid NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
            provider_recording_id text NOT NULL UNIQUE,
            storage_key text NOT NULL,
            size_bytes bigint NOT NULL,
            started_at timestamptz,
            ended_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now()
        )
    `);

    await knex.raw('CREATE INDEX recordings_tenant_created ON recordings (tenant_id, created_at DESC)');
    await knex.raw('CREATE INDEX recordings_call ON recordings (call_id)');
};


export const down = async (knex: Knex) => {

    for (const table of ['recordings', 'call_events', 'calls', 'dialer_jobs']) {
        await knex.schema.dropTable(table);
    }
};
