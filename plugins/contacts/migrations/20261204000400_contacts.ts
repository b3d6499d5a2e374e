import type { Knex } from 'knex';


export const up = async (knex: Knex) => {

    await knex.raw(`
        CREATE TABLE leads (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
            phone_number text NOT NULL,
            first_name text,
            last_name text,
            email text,
            country text,
            timezones text[] NOT NULL DEFAULT '{}',
            custom_fields jsonb NOT NULL DEFAULT '{}',
            priority integer NOT NULL DEFAULT 5,
            is_high_value boolean NOT NULL DEFAULT false,
            tags text[] NOT NULL DEFAULT '{}',
            status text NOT NULL DEFAULT 'pending',
            last_call_result text,
            last_called_at timestamptz,
            call_attempts integer NOT NULL DEFAULT 0,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
    `);

    // One live lead per number and campaign; a deleted one may be added again

    await knex.raw(`CREATE UNIQUE INDEX leads_campaign_phone_active ON leads (campaign_id, phone_number) WHERE status <> 'deleted'`);
    await knex.raw('CREATE INDEX leads_campaign_status ON leads (campaign_id, status)');
    await knex.raw('CREATE INDEX leads_tenant_phone ON leads (tenant_id, phone_number)');

    // campaigns.total_leads counts live leads, kept in the same transaction as every change by
    // statement-level triggers, so a 100k-row import updates it once

    await knex.raw(`
        CREATE FUNCTION leads_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE campaigns c SET total_leads = c.total_leads + n.count
            FROM (SELECT campaign_id, count(*) AS count FROM inserted WHERE status <> 'deleted' GROUP BY campaign_id) n
            WHERE c.id = n.campaign_id;
            RETURN NULL;
        END $$;

        CREATE FUNCTION leads_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE campaigns c SET total_leads = c.total_leads + d.delta
            FROM (
                SELECT campaign_id, sum(delta) AS delta FROM (
                    SELECT campaign_id, 1 AS delta FROM updated WHERE status <> 'deleted'
                    UNION ALL
                    SELECT campaign_id, -1 FROM previous WHERE status <> 'deleted'
                ) changes GROUP BY campaign_id
            ) d
            WHERE c.id = d.campaign_id AND d.delta <> 0;
            RETURN NULL;
        END $$;

        CREATE FUNCTION leads_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE campaigns c SET total_leads = c.total_leads - n.count
            FROM (SELECT campaign_id, count(*) AS count FROM removed WHERE status <> 'deleted' GROUP BY campaign_id) n
            WHERE c.id = n.campaign_id;
            RETURN NULL;
        END $$;

        CREATE TRIGGER leads_count_insert AFTER INSERT ON leads REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION leads_count_inserted();
        CREATE TRIGGER leads_count_update AFTER UPDATE ON leads REFERENCING OLD TABLE AS previous NEW TABLE AS updated FOR EACH STATEMENT EXECUTE FUNCTION leads_count_updated();
        CREATE TRIGGER leads_count_delete AFTER DELETE ON leads REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION leads_count_deleted();
    `);

    await knex.raw(`
        CREATE TABLE dnc_numbers (
            tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            phone_number text NOT NULL,
            reason text,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, phone_number)
        )
    `);
};


export const down = async (knex: Knex) => {

    await knex.schema.dropTable('dnc_numbers');
    await knex.schema.dropTable('leads');
    await knex.raw('DROP FUNCTION leads_count_inserted(), leads_count_updated(), leads_count_deleted()');
};
