import Code from '@hapi/code';
import Lab from '@hapi/lab';
import type { Server } from '@hapi/hapi';

import { startServer, type Harness } from './lib/harness';
import { signUp } from './lib/session';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


const winter = {
    name: 'Winter Campaign',
    description: 'Winter sales outreach',
    system_prompt: 'You are a friendly sales assistant...',
    voice_id: 'sonic-professional',
    max_concurrent_calls: 10,
    max_retries: 3,
    goal: 'Book appointment',
    script_config: { agent_name: 'Alex', greeting: 'Hi, this is Alex from Acme Corp...' },
    calling_config: { time_window_start: '09:00', time_window_end: '17:00', timezone: 'America/New_York' }
};


describe('campaigns', () => {

    let harness: Harness;
    let server: Server;
    let owner: Awaited<ReturnType<typeof signUp>>;

    before(async () => {

        harness = await startServer();
        server = harness.server;
        owner = await signUp(server, { plan: 'pro' });
    });

    after(() => harness.cleanup());

    const call = (method: string, url: string, payload?: object, headers = owner.headers) => server.inject({ method, url, payload, headers });

    it('creates a campaign from the reference\'s body, as a draft', async () => {

        const res = await call('POST', '/api/v1/campaigns/', winter);
        expect(res.statusCode, res.payload).to.equal(201);
        const { warnings, ...campaign } = res.result as Record<string, any>;

        // The reference's greeting does not say it is an AI: a disclosure is added, and said so

        const greeting = `${winter.script_config.greeting} This is an AI assistant calling on behalf of {company_name}.`;
        expect(campaign).to.include({ ...winter, script_config: { ...winter.script_config, greeting }, status: 'draft', total_leads: 0, calls_completed: 0, calls_failed: 0, retry_delay_seconds: 1800, client_id: null });
        expect(warnings).to.have.length(1);

        const got = await call('GET', `/api/v1/campaigns/${campaign.id}`);
        expect(got.statusCode).to.equal(200);
        expect(got.result).to.equal(campaign);
    });

    it('adds the AI and business disclosure to a greeting without it, or refuses it under disclosure_mode refuse', async () => {

        const tenant = await signUp(server);
        const silent = { name: 'Silent', script_config: { company_name: 'Globex', greeting: 'Hi {first_name}, do you have a minute?', voicemail_message: 'Globex here, please call us back.' } };

        const added = await call('POST', '/api/v1/campaigns', silent, tenant.headers);
        expect(added.statusCode, added.payload).to.equal(201);
        const campaign = added.result as { id: string; script_config: { greeting: string; voicemail_message: string }; warnings: string[] };
        expect(campaign.script_config.greeting).to.equal('Hi {first_name}, do you have a minute? This is an AI assistant calling on behalf of {company_name}.');
        expect(campaign.script_config.voicemail_message).to.equal('This is an AI assistant calling on behalf of {company_name}. Globex here, please call us back.');
        expect(campaign.warnings).to.equal([
            '"script_config.greeting" did not say that the caller is an AI assistant and the business calling (its name or {company_name}): a disclosure sentence was added to it',
            '"script_config.voicemail_message" did not say that the caller is an AI assistant: a disclosure sentence was added to it'
        ]);

        // A greeting that discloses is kept as written, without warnings

        const open = { company_name: 'Globex', greeting: 'Hi, this is Ava, a virtual assistant calling from Globex.' };
        const kept = await call('PATCH', `/api/v1/campaigns/${campaign.id}`, { script_config: open }, tenant.headers);
        expect(kept.statusCode, kept.payload).to.equal(200);
        expect((kept.result as Record<string, unknown>).script_config).to.equal(open);
        expect((kept.result as Record<string, unknown>).warnings).to.not.exist();

        const refusing = await call('PATCH', '/api/v1/tenants/me/settings', { disclosure_mode: 'refuse' }, tenant.headers);
        expect(refusing.statusCode, refusing.payload).to.equal(200);
        const refused = await call('POST', '/api/v1/campaigns', { name: 'Anonymous', script_config: { greeting: 'Hi, this is Ava from {company_name}.' } }, tenant.headers);
        expect(refused.statusCode).to.equal(400);
        expect(refused.result).to.equal({ detail: '"script_config.greeting" must say that the caller is an AI assistant' });

        const edited = await call('PATCH', `/api/v1/campaigns/${campaign.id}`, { script_config: { greeting: 'Hello, an automated agent here.' } }, tenant.headers);
        expect(edited.statusCode).to.equal(400);
        expect(edited.result).to.equal({ detail: '"script_config.greeting" must say the business calling (its name or {company_name})' });
        expect((await call('GET', `/api/v1/campaigns/${campaign.id}`, undefined, tenant.headers)).result).to.include({ script_config: open });

        const voicemail = await call('PATCH', `/api/v1/campaigns/${campaign.id}`, { script_config: { ...open, voicemail_message: 'Please call Globex back.' } }, tenant.headers);
        expect(voicemail.statusCode).to.equal(400);
        expect(voicemail.result).to.equal({ detail: '"script_config.voicemail_message" must say that the caller is an AI assistant' });
    });

    it('validates the opt-out key and the abandonment ceiling', async () => {

        const bad = await call('POST', '/api/v1/campaigns', { name: 'Keys', calling_config: { opt_out_digit: '10' } });
        expect(bad.statusCode).to.equal(400);
        expect((bad.result as { detail: string }).detail).to.contain('opt_out_digit');

        const good = await call('POST', '/api/v1/campaigns', { name: 'Keys', calling_config: { opt_out_digit: '#', max_abandonment_rate: 2.5 } });
        expect(good.statusCode, good.payload).to.equal(201);
        expect((good.result as Record<string, unknown>).calling_config).to.equal({ opt_out_digit: '#', max_abandonment_rate: 2.5 });
    });

    it('lists the tenant\'s campaigns newest first, with the reference\'s fields', async () => {

        const tenant = await signUp(server);
        for (const name of ['first', 'second', 'third']) {
            await call('POST', '/api/v1/campaigns', { name }, tenant.headers);
        }

        const res = await call('GET', '/api/v1/campaigns/', undefined, tenant.headers);
        expect(res.statusCode).to.equal(200);
        const { campaigns } = res.result as { campaigns: Array<Record<string, unknown>> };
        expect(campaigns.map((campaign) => campaign.name)).to.equal(['third', 'second', 'first']);
        for (const field of ['id', 'name', 'status', 'total_leads', 'calls_completed', 'calls_failed', 'created_at']) {
            expect(campaigns[0]).to.include(field);
        }
    });

    it('defaults max_concurrent_calls to the plan\'s limit and refuses more', async () => {

        const basic = await signUp(server, { plan: 'basic' });
        const made = await call('POST', '/api/v1/campaigns', { name: 'small' }, basic.headers);
        expect((made.result as { max_concurrent_calls: number }).max_concurrent_calls).to.equal(2);

        const refused = await call('POST', '/api/v1/campaigns', { name: 'big', max_concurrent_calls: 3 }, basic.headers);
        expect(refused.statusCode).to.equal(400);
        expect(refused.result).to.equal({ detail: '"max_concurrent_calls" must be at most 2 on your plan' });
    });

    it('validates the calling window, time zone, retries and config shapes', async () => {

        const cases: Array<[object, string]> = [
            [{ calling_config: { time_window_start: '9am' } }, '"calling_config.time_window_start" must be a time as HH:MM'],
            [{ calling_config: { time_window_start: '24:00' } }, '"calling_config.time_window_start" must be a time as HH:MM'],
            [{ calling_config: { timezone: 'Mars/Olympus' } }, '"calling_config.timezone" must be an IANA time zone such as America/New_York'],
            [{ calling_config: { time_window_start: '17:00', time_window_end: '09:00' } }, '"calling_config.time_window_end" must be later than "calling_config.time_window_start"'],
            [{ max_retries: 11 }, '"max_retries" must be less than or equal to 10'],
            [{ max_retries: -1 }, '"max_retries" must be greater than or equal to 0'],
            [{ script_config: { agent_name: 'A', tone: 'loud' } }, '"script_config.tone" is not allowed'],
            [{ script_config: 'hello' }, '"script_config" must be of type object'],
            [{ status: 'running' }, '"status" is not allowed']
        ];

        for (const [extra, detail] of cases) {
            const res = await call('POST', '/api/v1/campaigns', { name: 'x', ...extra });
            expect(res.statusCode, JSON.stringify(extra)).to.equal(400);
            expect(res.result).to.equal({ detail });
        }

        expect((await call('POST', '/api/v1/campaigns', {})).result).to.equal({ detail: '"name" is required' });
    });

    it('edits a campaign that is not running, and refuses one that is', async () => {

        const made = (await call('POST', '/api/v1/campaigns', winter)).result as { id: string };
        const res = await call('PATCH', `/api/v1/campaigns/${made.id}`, { name: 'Spring Campaign', max_retries: 5 });
        expect(res.statusCode).to.equal(200);
        expect(res.result).to.include({ name: 'Spring Campaign', max_retries: 5, goal: 'Book appointment' });

        expect((await call('PATCH', `/api/v1/campaigns/${made.id}`, {})).result).to.equal({ detail: 'Name at least one field to change' });

        await server.plugins.core.db('campaigns').where({ id: made.id }).update({ status: 'running' });
        const refused = await call('PATCH', `/api/v1/campaigns/${made.id}`, { name: 'Nope' });
        expect(refused.statusCode).to.equal(409);
        expect(refused.result).to.equal({ detail: 'A running campaign cannot be changed; pause it first' });

        const deleting = await call('DELETE', `/api/v1/campaigns/${made.id}`);
        expect(deleting.statusCode).to.equal(409);
        expect(deleting.result).to.equal({ detail: 'A running campaign cannot be deleted; stop it first' });
    });

    it('deletes softly: the campaign is gone from the API but kept', async () => {

        const made = (await call('POST', '/api/v1/campaigns', { name: 'to delete' })).result as { id: string };
        expect((await call('DELETE', `/api/v1/campaigns/${made.id}`)).statusCode).to.equal(204);
        expect((await call('GET', `/api/v1/campaigns/${made.id}`)).statusCode).to.equal(404);
        expect((await call('DELETE', `/api/v1/campaigns/${made.id}`)).statusCode).to.equal(404);
        expect(((await call('GET', '/api/v1/campaigns')).result as { campaigns: Array<{ id: string }> }).campaigns.map((c) => c.id)).to.not.include(made.id);
        expect(await server.plugins.core.db('campaigns').where({ id: made.id }).whereNotNull('deleted_at').first('id')).to.exist();
    });

    it('hides another tenant\'s campaigns behind 404', async () => {

        const made = (await call('POST', '/api/v1/campaigns', { name: 'private' })).result as { id: string };
        const stranger = await signUp(server);
        for (const [method, payload] of [['GET', undefined], ['PATCH', { name: 'mine now' }], ['DELETE', undefined]] as const) {
            const res = await call(method, `/api/v1/campaigns/${made.id}`, payload, stranger.headers);
            expect(res.statusCode, method).to.equal(404);
            expect(res.result).to.equal({ detail: 'Campaign not found' });
        }

        expect(((await call('GET', '/api/v1/campaigns', undefined, stranger.headers)).result as { campaigns: unknown[] }).campaigns).to.equal([]);
    });

    it('needs a signed-in caller', async () => {

        expect((await call('GET', '/api/v1/campaigns', undefined, {} as typeof owner.headers)).statusCode).to.equal(401);
    });

    describe('clients', () => {

        it('are created, listed and fetched per tenant, and campaigns can belong to one', async () => {

            const created = await call('POST', '/api/v1/clients/', { name: 'Globex', email: 'Buyer@Globex.com' });
            expect(created.statusCode).to.equal(201);
            const client = created.result as Record<string, any>;
            expect(client).to.include({ name: 'Globex', email: 'buyer@globex.com', phone: null });

            expect(((await call('GET', '/api/v1/clients')).result as { clients: unknown[] }).clients).to.equal([client]);
            expect((await call('GET', `/api/v1/clients/${client.id}`)).result).to.equal(client);

            const campaign = await call('POST', '/api/v1/campaigns', { name: 'for Globex', client_id: client.id });
            expect((campaign.result as { client_id: string }).client_id).to.equal(client.id);

            const stranger = await signUp(server);
            expect((await call('GET', `/api/v1/clients/${client.id}`, undefined, stranger.headers)).statusCode).to.equal(404);
            const borrowed = await call('POST', '/api/v1/campaigns', { name: 'borrowed', client_id: client.id }, stranger.headers);
            expect(borrowed.statusCode).to.equal(400);
            expect(borrowed.result).to.equal({ detail: '"client_id" is not one of your clients' });
        });
    });
});
