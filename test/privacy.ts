import Crypto from 'crypto';
import Fs from 'fs';
import Path from 'path';
import { Readable } from 'stream';

import Code from '@hapi/code';
import Lab from '@hapi/lab';
import type { Server, ServerInjectResponse } from '@hapi/hapi';

import type { Db } from '../core/db';
import * as Dnc from '../plugins/contacts/dnc';
import { dial, type DialContext } from '../plugins/dialer/dial';
import { enqueue, messageId, tenantQueue } from '../plugins/dialer/enqueue';
import type { Gate } from '../plugins/dialer/gate';
import type { Slots } from '../plugins/dialer/slots';
import type { Telephony } from '../plugins/dialer/telephony';
import { eraseSubject } from '../plugins/privacy/erase';
import { retentionQueue } from '../plugins/privacy/jobs';
import { sweep } from '../plugins/privacy/retention';
import { subjectOf } from '../plugins/privacy/subject';
import type { Storage } from '../plugins/storage/backend';
import { startServer, waitFor, type Harness } from './lib/harness';
import { signUp } from './lib/session';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


type Tenant = Awaited<ReturnType<typeof signUp>>;
type Row = Record<string, any>;


const sha256 = (text: string) => Crypto.createHash('sha256').update(text, 'utf8').digest('hex');

const body = (res: ServerInjectResponse) => JSON.parse(res.payload);

const sorted = (values: string[]) => [...values].sort();

const days = (n: number) => n * 24 * 60 * 60 * 1000;


const nothing = { leads: 0, calls: 0, events: 0, turns: 0, recordings: 0, dnc: 0 };


describe('privacy', () => {

    let harness: Harness;
    let server: Server;
    let db: Db;
    let storage: Storage;

    // The API role only: no worker sweeps while a test looks

    before(async () => {

        harness = await startServer({ role: 'api' });
        server = harness.server;
        db = server.plugins.core.db;
        storage = server.plugins.core.providers.get('storage');
    });

    after(() => harness.cleanup());

    const post = (url: string, tenant: Tenant, payload: object) => server.inject({ method: 'POST', url, payload, headers: tenant.headers });

    const newCampaign = async (tenant: Tenant, name: string) => {

        const res = await server.inject({ method: 'POST', url: '/api/v1/campaigns', payload: { name }, headers: tenant.headers });
        expect(res.statusCode).to.equal(201);
        return res.result as { id: string; name: string };
    };

    let numbers = 0;

    const newNumber = () => `+1212555${String(++numbers).padStart(4, '0')}`;

    // A lead, its job, one ended call with two provider events, two turns, and a recording in storage

    const addCall = async (tenant: Tenant, campaignId: string, phone: string, lead: Row = {}, withRecording = true) => {

        const [row] = await db('leads').insert({ tenant_id: tenant.tenantId, campaign_id: campaignId, phone_number: phone, first_name: 'Ada', last_name: 'Person', custom_fields: JSON.stringify({ note: `likes ${phone}` }), status: 'completed', ...lead }).returning('*');
        const [job] = await db('dialer_jobs').insert({ tenant_id: tenant.tenantId, campaign_id: campaignId, lead_id: row.id, status: 'completed', attempt: 1 }).returning('id');
        const id = Crypto.randomUUID();
        const [call] = await db('calls').insert({
            id, tenant_id: tenant.tenantId, campaign_id: campaignId, lead_id: row.id, job_id: job.id, attempt: 1, provider: 'simulator', provider_call_id: `test-${id}`,
            to_number: phone, status: 'completed', outcome: 'goal_achieved', goal_achieved: true, duration_seconds: 42, billed_minutes: 1
        }).returning('*');

        for (const status of ['answered', 'completed']) {
            await db('call_events').insert({ call_id: id, provider_call_id: `test-${id}`, status, applied: true, payload: JSON.stringify({ status, to: phone.slice(1) }) });
        }

        await db('call_turns').insert([
            { call_id: id, tenant_id: tenant.tenantId, seq: 1, speaker: 'agent', text: 'Hello, is this Ada?', started_ms: 0, ended_ms: 900 },
            { call_id: id, tenant_id: tenant.tenantId, seq: 2, speaker: 'caller', text: `Yes, call me on ${phone}`, started_ms: 1200, ended_ms: 2500 }
        ]);

        let recording: Row | null = null;
        if (withRecording) {
            const key = `recordings/${tenant.tenantId}/${id}.wav`;
            await storage.put(key, Readable.from([Buffer.from(`audio of ${phone}`)]));
            [recording] = await db('recordings').insert({ tenant_id: tenant.tenantId, call_id: id, provider_recording_id: `test-${Crypto.randomUUID()}`, storage_key: key, size_bytes: 22 }).returning('*');
        }

        return { lead: row, call, recording };
    };

    // One person in two campaigns of tenant A (one lead with an email, a recording, and on the
    // do-not-call list), another person of A, and the same number at tenant B

    const world = async () => {

        const a = await signUp(server);
        const b = await signUp(server);
        const phone = newNumber();
        const other = newNumber();
        const email = `ada.${numbers}@example.com`;

        const first = await newCampaign(a, 'Spring renewals');
        const second = await newCampaign(a, 'Autumn survey');
        const person = [
            await addCall(a, first.id, phone, { email: email.toUpperCase(), consent_at: new Date('2026-01-02T03:04:05Z'), consent_source: `web form, ${email}` }),
            await addCall(a, second.id, phone, {}, false)
        ];

        const neighbour = await addCall(a, first.id, other, { first_name: 'Bob', email: `bob.${numbers}@example.com` });
        await Dnc.add(db, a.tenantId, [{ phone_number: phone, reason: 'asked on a call' }, { phone_number: other, reason: 'imported' }]);

        const elsewhere = await addCall(b, (await newCampaign(b, 'B campaign')).id, phone, { email });
        await Dnc.add(db, b.tenantId, [{ phone_number: phone, reason: 'imported' }]);

        return { a, b, phone, other, email, first, second, person, neighbour, elsewhere };
    };

    const requests = (tenant: Tenant) => db('privacy_requests').where({ tenant_id: tenant.tenantId }).orderBy('created_at').select('*');

    // The dialer's own screening of one queue message (plugins/dialer/dial.ts), with no slot, gate
    // or provider: a message that got past the screening would reach them and fail the test

    const dialed = (message: { id: string; seq: number }) => {

        const refuse = () => {

            throw new Error('The message got past the screening');
        };

        const context: DialContext = {
            core: server.plugins.core,
            slots: { acquire: refuse } as unknown as Slots,
            gate: { waitForSlot: refuse, paced: refuse } as unknown as Gate,
            telephony: () => ({ placeCall: refuse }) as unknown as Telephony,
            provider: 'simulator'
        };

        return dial(context, message);
    };

    const filesUnder = (folder: string): string[] => (Fs.existsSync(folder) ? Fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? filesUnder(Path.join(folder, entry.name)) : [Path.join(folder, entry.name)])) : []);

    // The storage slot passed through, for a test to replace one of its methods

    const wrapped = (inner: Storage): Storage => ({
        put: (key, input, contentType) => inner.put(key, input, contentType),
        get: (key, range) => inner.get(key, range),
        size: (key) => inner.size(key),
        remove: (key) => inner.remove(key)
    });

    // The audio files kept for a tenant's calls, as storage keys

    const audioOf = (tenant: Tenant) => filesUnder(Path.join(harness.config.storageDir, 'recordings', tenant.tenantId)).map((file) => Path.relative(harness.config.storageDir, file));


    describe('export', () => {

        it('returns exactly what the tenant holds about the number, whatever its format', async () => {

            const { a, phone, email, first, second, person } = await world();

            const res = await post('/api/v1/privacy/export', a, { phone_number: `(${phone.slice(2, 5)}) ${phone.slice(5, 8)}-${phone.slice(8)}` });
            expect(res.statusCode).to.equal(200);
            const found = body(res);

            expect(found.subject).to.equal({ phone_number: phone, email: null });
            expect(sorted(found.leads.map((lead: Row) => lead.id))).to.equal(sorted(person.map(({ lead }) => lead.id)));
            expect(found.leads.map((lead: Row) => [lead.campaign_name, lead.phone_number, lead.first_name])).to.equal([['Spring renewals', phone, 'Ada'], ['Autumn survey', phone, 'Ada']]);
            expect(found.leads[0].email).to.equal(email.toUpperCase());
            expect(found.leads[0].custom_fields).to.equal({ note: `likes ${phone}` });
            expect(found.leads[0]).to.include({ consent_at: '2026-01-02T03:04:05.000Z', consent_source: `web form, ${email}` });
            expect(found.leads[0].tenant_id).to.not.exist();

            expect(sorted(found.calls.map((call: Row) => call.id))).to.equal(sorted(person.map(({ call }) => call.id)));
            expect(found.calls.map((call: Row) => call.campaign_name)).to.equal([first.name, second.name]);
            expect(found.calls[0]).to.include({ phone_number: phone, callback_at: null });
            expect(found.calls[0].events.map((event: Row) => [event.status, event.payload.to])).to.equal([['answered', phone.slice(1)], ['completed', phone.slice(1)]]);

            expect(found.transcripts).to.have.length(2);
            expect(found.transcripts.find((transcript: Row) => transcript.call_id === person[0]!.call.id).turns.map((turn: Row) => turn.text)).to.equal(['Hello, is this Ada?', `Yes, call me on ${phone}`]);

            const recording = person[0]!.recording!;
            expect(found.recordings).to.equal([{ id: recording.id, call_id: recording.call_id, storage_key: recording.storage_key, size_bytes: 22, started_at: null, ended_at: null, created_at: recording.created_at.toISOString() }]);
            expect(res.payload).to.not.contain('audio of');

            expect(found.dnc_numbers).to.have.length(1);
            expect(found.dnc_numbers[0]).to.include({ phone_number: phone, kept_as: 'number', reason: 'asked on a call', call_id: null });
            expect(found.counts).to.equal({ leads: 2, calls: 2, events: 4, turns: 4, recordings: 1, dnc: 1 });

            // Audited by a hash of the number alone

            const [audit, ...more] = await requests(a);
            expect(more).to.have.length(0);
            expect(audit).to.include({ kind: 'export', subject_hash: sha256(phone), requested_by: a.user.id, counts: found.counts });
            expect(JSON.stringify(audit)).to.not.contain(phone.slice(2));
        });

        it('finds the person by email, with the leads, calls and entries of their numbers', async () => {

            const { a, phone, email, person } = await world();

            // The second lead has the number but no email: the number is the person's all the same

            const found = body(await post('/api/v1/privacy/export', a, { email: ` ${email.replace('ada', 'ADA')} ` }));
            expect(found.leads.map((lead: Row) => lead.id)).to.equal(person.map(({ lead }) => lead.id));
            expect(sorted(found.calls.map((call: Row) => call.id))).to.equal(sorted(person.map(({ call }) => call.id)));
            expect(found.dnc_numbers.map((entry: Row) => entry.phone_number)).to.equal([phone]);
            expect((await requests(a))[0].subject_hash).to.equal(sha256(email));
        });

        it('shows nothing of another tenant or another number', async () => {

            const { b, elsewhere, phone } = await world();

            const found = body(await post('/api/v1/privacy/export', b, { phone_number: phone }));
            expect(found.leads.map((lead: Row) => lead.id)).to.equal([elsewhere.lead.id]);
            expect(found.calls.map((call: Row) => call.id)).to.equal([elsewhere.call.id]);
            expect(found.recordings.map((recording: Row) => recording.id)).to.equal([elsewhere.recording!.id]);
            expect(found.counts).to.equal({ leads: 1, calls: 1, events: 2, turns: 2, recordings: 1, dnc: 1 });

            const nobody = body(await post('/api/v1/privacy/export', b, { phone_number: newNumber() }));
            expect(nobody.counts).to.equal(nothing);
        });

        it('of a person with nothing held is empty, and recorded', async () => {

            const { a } = await world();
            const stranger = newNumber();

            const res = await post('/api/v1/privacy/export', a, { phone_number: stranger, email: 'nobody@example.com' });
            expect(res.statusCode).to.equal(200);
            expect(body(res)).to.equal({ subject: { phone_number: stranger, email: 'nobody@example.com' }, leads: [], calls: [], transcripts: [], recordings: [], dnc_numbers: [], counts: nothing });
            const [audit, ...more] = await requests(a);
            expect(more).to.have.length(0);
            expect(audit).to.include({ kind: 'export', subject_hash: sha256(`${stranger}\nnobody@example.com`), counts: nothing });
        });
    });


    describe('erase', () => {

        // Every row of every table whose text holds one of these, by table

        const rowsHolding = async (needles: string[]) => {

            const { rows: tables } = await db.raw<{ rows: Array<{ table_name: string }> }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`);
            const found: Record<string, Row[]> = {};
            for (const { table_name: table } of tables) {
                const conditions = needles.map(() => 'lower(row_to_json(t)::text) LIKE ?').join(' OR ');
                const { rows } = await db.raw(`SELECT row_to_json(t) AS row FROM ?? t WHERE ${conditions}`, [table, ...needles.map((needle) => `%${needle.toLowerCase()}%`)]);
                if (rows.length) {
                    found[table] = rows.map((row: { row: Row }) => row.row);
                }
            }

            return found;
        };

        it('leaves nothing readable about the person, and their number blocked as a hash', async () => {

            const { a, b, phone, other, email, person, neighbour, elsewhere } = await world();
            const held = await rowsHolding([phone.slice(2), email]);
            expect(Object.keys(held)).to.include(['leads', 'calls', 'call_events', 'call_turns', 'dnc_numbers']);
            expect(held.leads!.some((row) => row.tenant_id === a.tenantId)).to.be.true();

            const res = await post('/api/v1/privacy/erase', a, { phone_number: phone });
            expect(res.statusCode).to.equal(200);
            expect(body(res)).to.equal({ erased: { leads: 2, calls: 2, events: 4, turns: 4, recordings: 1, dnc: 1 } });

            // Whatever still holds the number or the email is tenant B's

            const ofB = new Set([b.tenantId, elsewhere.call.id]);
            const left = await rowsHolding([phone.slice(2), email, phone.slice(1)]);
            for (const [table, rows] of Object.entries(left)) {
                for (const row of rows) {
                    expect(ofB.has(row.tenant_id) || ofB.has(row.call_id), `${table} ${JSON.stringify(row)}`).to.be.true();
                }
            }

            expect(left.leads).to.have.length(1);
            expect(left.calls).to.have.length(1);

            // Its hash only where it was asked for: the do-not-call entry and the request's own record

            const hashed = await rowsHolding([sha256(phone).slice(0, 12)]);
            expect(Object.keys(hashed).sort()).to.equal(['dnc_numbers', 'privacy_requests']);
            expect(sorted(hashed.dnc_numbers!.map((row) => row.tenant_id))).to.equal(sorted([a.tenantId, b.tenantId]));

            // The audio is gone from storage; the neighbour's and B's are still there

            const key = person[0]!.recording!.storage_key;
            await expect(storage.size(key)).to.reject();
            expect(await storage.size(neighbour.recording!.storage_key)).to.equal(Buffer.byteLength(`audio of ${other}`));
            expect(sorted([...audioOf(a), ...audioOf(b)])).to.equal(sorted([neighbour.recording!.storage_key, elsewhere.recording!.storage_key]));

            // Calls keep their outcomes and leads, with the number replaced by a marker; leads are removed and emptied

            const marker = 'erased';
            const calls = await db('calls').whereIn('id', person.map(({ call }) => call.id)).orderBy('created_at').select('to_number', 'lead_id', 'outcome', 'billed_minutes');
            expect(calls).to.equal(person.map(({ lead }) => ({ to_number: marker, lead_id: lead.id, outcome: 'goal_achieved', billed_minutes: 1 })));

            const leads = await db('leads').whereIn('id', person.map(({ lead }) => lead.id)).select('phone_number', 'first_name', 'last_name', 'email', 'custom_fields', 'consent_at', 'consent_source', 'status');
            expect(leads).to.equal(person.map(() => ({ phone_number: marker, first_name: null, last_name: null, email: null, custom_fields: {}, consent_at: null, consent_source: null, status: 'deleted' })));
            expect(await db('call_turns').whereIn('call_id', person.map(({ call }) => call.id)).count('* as n').first()).to.equal({ n: 0 });
            expect(await db('recordings').whereIn('call_id', person.map(({ call }) => call.id)).count('* as n').first()).to.equal({ n: 0 });
            expect(await db('call_events').whereIn('call_id', person.map(({ call }) => call.id)).pluck('payload')).to.equal([{}, {}, {}, {}]);

            // The entry keeps the hash alone, without its reason; the list shows only numbers it holds

            const entry = await db('dnc_numbers').where({ tenant_id: a.tenantId, phone_hash: sha256(phone) }).first('phone_number', 'reason');
            expect(entry).to.equal({ phone_number: null, reason: null });
            const listed = await server.inject({ method: 'GET', url: '/api/v1/contacts/dnc', headers: a.headers });
            expect(listed.statusCode).to.equal(200);
            expect(body(listed).items.map((item: Row) => item.phone_number)).to.equal([other]);

            // Others untouched, and the request recorded by the hash alone

            expect(await db('leads').where({ id: neighbour.lead.id }).first('phone_number', 'first_name')).to.equal({ phone_number: other, first_name: 'Bob' });
            expect(body(await post('/api/v1/privacy/export', b, { phone_number: phone })).counts).to.equal({ leads: 1, calls: 1, events: 2, turns: 2, recordings: 1, dnc: 1 });

            const [audit, ...more] = await requests(a);
            expect(more).to.have.length(0);
            expect(audit).to.include({ kind: 'erase', subject_hash: sha256(phone), requested_by: a.user.id, counts: body(res).erased });
            expect(JSON.stringify(audit)).to.not.contain(phone.slice(2));

            // Asked again, there is nothing left to find but the entry that keeps the number blocked

            const again = body(await post('/api/v1/privacy/export', a, { phone_number: phone }));
            expect(again.counts).to.equal({ ...nothing, dnc: 1 });
            expect(again.dnc_numbers).to.equal([{ phone_number: phone, kept_as: 'hash', reason: null, call_id: null, created_at: again.dnc_numbers[0].created_at }]);
            expect(body(await post('/api/v1/privacy/erase', a, { phone_number: phone }))).to.equal({ erased: nothing });
        });

        it('keeps the erased number refused by the dialer and found by the do-not-call endpoints', async () => {

            const { a, phone, first } = await world();
            expect((await post('/api/v1/privacy/erase', a, { phone_number: phone })).statusCode).to.equal(200);

            // A lead with the number again (not through the contacts API, which would mark it dnc): its dial is refused

            await db('campaigns').where({ id: first.id }).update({ status: 'running' });
            const [lead] = await db('leads').insert({ tenant_id: a.tenantId, campaign_id: first.id, phone_number: phone, status: 'pending' }).returning('id');
            const [job] = await db('dialer_jobs').insert({ tenant_id: a.tenantId, campaign_id: first.id, lead_id: lead.id }).returning(['id', 'seq']);
            expect(await dialed(job)).to.equal('dnc');
            expect(await db('leads').where({ id: lead.id }).first('status')).to.equal({ status: 'dnc' });

            // Added to the list again it stays a hash, and the answer names the number given

            const national = `(${phone.slice(2, 5)}) ${phone.slice(5, 8)}-${phone.slice(8)}`;
            const added = await server.inject({ method: 'POST', url: '/api/v1/contacts/dnc', payload: { phone_number: national, reason: 'again' }, headers: a.headers });
            expect(added.statusCode).to.equal(201);
            expect(body(added)).to.include({ phone_number: phone, reason: null });
            expect(await db('dnc_numbers').where({ tenant_id: a.tenantId, phone_hash: sha256(phone) }).first('phone_number')).to.equal({ phone_number: null });

            // Taken off the list by its number, in any format

            const remove = () => server.inject({ method: 'DELETE', url: `/api/v1/contacts/dnc/${encodeURIComponent(national)}`, headers: a.headers });
            expect((await remove()).statusCode).to.equal(204);
            expect(await db('dnc_numbers').where({ tenant_id: a.tenantId, phone_hash: sha256(phone) }).first()).to.not.exist();
            expect((await remove()).statusCode).to.equal(404);
        });

        it('finds the person by email, with the other leads of their number', async () => {

            const { a, b, phone, email, person, elsewhere } = await world();

            const res = await post('/api/v1/privacy/erase', a, { email: email.toUpperCase() });
            expect(body(res)).to.equal({ erased: { leads: 2, calls: 2, events: 4, turns: 4, recordings: 1, dnc: 1 } });
            expect(await db('leads').whereIn('id', person.map(({ lead }) => lead.id)).pluck('phone_number')).to.equal(['erased', 'erased']);

            const ofB = new Set([b.tenantId, elsewhere.call.id]);
            for (const [table, rows] of Object.entries(await rowsHolding([phone.slice(2), email]))) {
                for (const row of rows) {
                    expect(ofB.has(row.tenant_id) || ofB.has(row.call_id), `${table} ${JSON.stringify(row)}`).to.be.true();
                }
            }

            expect((await requests(a))[0]).to.include({ kind: 'erase', subject_hash: sha256(email) });
        });

        it('leaves no hash of a number that was not on the do-not-call list, but the request\'s', async () => {

            const a = await signUp(server);
            const phone = newNumber();
            await addCall(a, (await newCampaign(a, 'Unlisted')).id, phone);

            const res = await post('/api/v1/privacy/erase', a, { phone_number: phone });
            expect(body(res)).to.equal({ erased: { leads: 1, calls: 1, events: 2, turns: 2, recordings: 1, dnc: 0 } });
            expect(await rowsHolding([phone.slice(2)])).to.equal({});
            expect(Object.keys(await rowsHolding([sha256(phone).slice(0, 12)]))).to.equal(['privacy_requests']);
        });

        it('of a person with nothing held changes nothing, and is recorded', async () => {

            const { a, other, neighbour } = await world();
            const stranger = newNumber();

            const res = await post('/api/v1/privacy/erase', a, { phone_number: stranger });
            expect(res.statusCode).to.equal(200);
            expect(body(res)).to.equal({ erased: nothing });

            const [audit, ...more] = await requests(a);
            expect(more).to.have.length(0);
            expect(audit).to.include({ kind: 'erase', subject_hash: sha256(stranger), requested_by: a.user.id, counts: nothing });
            expect(await db('leads').where({ id: neighbour.lead.id }).first('phone_number', 'first_name')).to.equal({ phone_number: other, first_name: 'Bob' });
            expect(await storage.size(neighbour.recording!.storage_key)).to.be.above(0);
        });

        it('cancels the person\'s open jobs and refuses while a call is live', async () => {

            const a = await signUp(server);
            const campaign = await newCampaign(a, 'Live');
            const phone = newNumber();
            const { lead, call } = await addCall(a, campaign.id, phone, { status: 'pending' }, false);
            await db('dialer_jobs').where({ lead_id: lead.id }).update({ status: 'retry_scheduled' });

            // A job of another campaign left in_call though its call has ended would be dialled again once retried

            const stuck = await addCall(a, (await newCampaign(a, 'Stuck')).id, phone, {}, false);
            await db('dialer_jobs').where({ lead_id: stuck.lead.id }).update({ status: 'in_call' });

            await db('calls').where({ id: call.id }).update({ status: 'in_progress' });
            const refused = await post('/api/v1/privacy/erase', a, { phone_number: phone });
            expect(refused.statusCode).to.equal(409);
            expect(body(refused)).to.equal({ detail: 'A call with this person is in progress: ask again once it has ended' });
            expect(await requests(a)).to.have.length(0);
            expect(await db('dialer_jobs').whereIn('lead_id', [lead.id, stuck.lead.id]).orderBy('created_at').pluck('status')).to.equal(['retry_scheduled', 'in_call']);

            await db('calls').where({ id: call.id }).update({ status: 'completed' });
            expect((await post('/api/v1/privacy/erase', a, { phone_number: phone })).statusCode).to.equal(200);
            expect(await db('dialer_jobs').whereIn('lead_id', [lead.id, stuck.lead.id]).pluck('status')).to.equal(['cancelled', 'cancelled']);
        });

        it('leaves a dial message already queued for the person nothing to dial', async () => {

            const a = await signUp(server);
            const campaign = await newCampaign(a, 'Queued');
            await db('campaigns').where({ id: campaign.id }).update({ status: 'running' });
            const phone = newNumber();
            const { lead } = await addCall(a, campaign.id, phone, { status: 'pending' }, false);
            const [job] = await db('dialer_jobs').where({ lead_id: lead.id }).update({ status: 'pending', seq: 2 }).returning(['id', 'seq', 'tenant_id', 'priority']);

            const core = server.plugins.core;
            await enqueue(core, [job]);
            expect([...await core.queues.held(tenantQueue(a.tenantId), [messageId(job)])]).to.equal([messageId(job)]);

            expect((await post('/api/v1/privacy/erase', a, { phone_number: phone })).statusCode).to.equal(200);
            expect(await dialed({ id: job.id, seq: job.seq })).to.equal('stale');
            const cancelled = await db('dialer_jobs').where({ id: job.id }).first('status', 'last_decision', 'decisions');
            expect(cancelled).to.include({ status: 'cancelled', last_decision: 'cancelled' });
            expect(cancelled.decisions.at(-1)).to.include({ decision: 'cancelled', reason: 'erased' });
            expect(await db('calls').where({ lead_id: lead.id }).count('* as n').first()).to.equal({ n: 1 });
        });

        it('refuses when a dial claims one of the person\'s jobs while it erases', async () => {

            const a = await signUp(server);
            const campaign = await newCampaign(a, 'Race');
            const phone = newNumber();
            const { lead } = await addCall(a, campaign.id, phone, { status: 'pending' }, false);
            const job = await db('dialer_jobs').where({ lead_id: lead.id }).first('id');
            await db('dialer_jobs').where({ id: job.id }).update({ status: 'pending' });

            // The dialer's claim (job, call and lead in one statement) holds the job when the erasure reaches it

            const claim = await db.transaction();
            await claim('dialer_jobs').where({ id: job.id }).update({ status: 'dialing', attempt: 2 });
            await claim('calls').insert({ id: Crypto.randomUUID(), tenant_id: a.tenantId, campaign_id: campaign.id, lead_id: lead.id, job_id: job.id, attempt: 2, provider: 'simulator', to_number: phone, status: 'dialing' });
            await claim('leads').where({ id: lead.id }).update({ status: 'calling' });

            const erasing = post('/api/v1/privacy/erase', a, { phone_number: phone });
            await waitFor(async () => Number((await db.raw(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n));
            await claim.commit();

            const res = await erasing;
            expect(res.statusCode).to.equal(409);
            expect(await requests(a)).to.have.length(0);
            expect(await db('calls').where({ lead_id: lead.id, status: 'dialing' }).first('to_number')).to.equal({ to_number: phone });
            expect(await db('dialer_jobs').where({ id: job.id }).first('status')).to.equal({ status: 'dialing' });
        });

        it('rolls back when storage fails, and finishes when asked again', async () => {

            const a = await signUp(server);
            const phone = newNumber();
            const { lead, recording } = await addCall(a, (await newCampaign(a, 'Failing')).id, phone, { status: 'pending' });
            await db('dialer_jobs').where({ lead_id: lead.id }).update({ status: 'pending' });

            const failing: Storage = { ...wrapped(storage), remove: () => Promise.reject(new Error('storage is away')) };
            const subject = subjectOf({ phone_number: phone }, 'US');
            await expect(eraseSubject(db, failing, a.tenantId, subject, null)).to.reject('storage is away');

            expect(await db('leads').where({ id: lead.id }).first('phone_number', 'status')).to.equal({ phone_number: phone, status: 'pending' });
            expect(await db('dialer_jobs').where({ lead_id: lead.id }).first('status')).to.equal({ status: 'pending' });
            expect(await db('recordings').where({ id: recording!.id }).first('id')).to.exist();
            expect(await requests(a)).to.have.length(0);

            expect(await eraseSubject(db, storage, a.tenantId, subject, null)).to.equal({ erased: { leads: 1, calls: 1, events: 2, turns: 2, recordings: 1, dnc: 0 } });
            expect(audioOf(a)).to.equal([]);
        });

        it('keeps no recording that reaches an erased call, the provider\'s or Talky\'s own', async () => {

            const { a, phone, person } = await world();
            const { call } = person[0]!;
            expect((await post('/api/v1/privacy/erase', a, { phone_number: phone })).statusCode).to.equal(200);
            const kept = audioOf(a);

            // The provider's is not even fetched: its address answers nothing

            await server.plugins.dialer.handleRecording({ callId: call.id, recordingId: `late-${Crypto.randomUUID()}`, url: 'http://127.0.0.1:1/recording.wav', raw: {} });

            // Talky's own, stored as the socket closed, goes again

            const stored = await storage.put(`recordings/${a.tenantId}/${call.id}/conversation.wav`, Readable.from([Buffer.from(`late audio of ${phone}`)]));
            expect(audioOf(a)).to.include(stored.key);
            await server.plugins.dialer.keepRecording({ id: call.id, tenantId: a.tenantId }, stored);

            expect(await db('recordings').where({ call_id: call.id }).count('* as n').first()).to.equal({ n: 0 });
            expect(audioOf(a)).to.equal(kept);
        });

        it('removes at the next sweep what reaches an erased call during or after its erasure', async () => {

            const { a, phone, person, neighbour } = await world();
            const { call } = person[0]!;
            const late = async (name: string) => {

                const key = `recordings/${a.tenantId}/${call.id}/${name}.wav`;
                await storage.put(key, Readable.from([Buffer.from(`${name} audio of ${phone}`)]));
                await db('recordings').insert({ tenant_id: a.tenantId, call_id: call.id, provider_recording_id: `test-${Crypto.randomUUID()}`, storage_key: key, size_bytes: 10 });
            };

            // The provider's recording lands while the erasure removes the audio; Talky's own, a last turn and a late event after

            let landed = false;
            const landing: Storage = {
                ...wrapped(storage),
                async remove(key) {

                    await storage.remove(key);
                    if (!landed) {
                        landed = true;
                        await late('provider');
                    }
                }
            };

            const subject = subjectOf({ phone_number: phone }, 'US');
            expect((await eraseSubject(db, landing, a.tenantId, subject, null)).erased.recordings).to.equal(1);
            expect(audioOf(a).sort()).to.equal(sorted([neighbour.recording!.storage_key, `recordings/${a.tenantId}/${call.id}/provider.wav`]));

            await late('conversation');
            await db('call_turns').insert({ call_id: call.id, tenant_id: a.tenantId, seq: 3, speaker: 'caller', text: `Bye from ${phone}`, started_ms: 3000, ended_ms: 3500 });
            await db('call_events').insert({ call_id: call.id, provider_call_id: `test-${call.id}`, status: 'rejected', applied: false, payload: JSON.stringify({ to: phone.slice(1) }) });

            expect(await sweep(db, storage, new Date())).to.equal({ recordings: 0, turns: 0, erased: { recordings: 2, turns: 1, events: 1 } });
            expect(audioOf(a)).to.equal([neighbour.recording!.storage_key]);
            expect(await db('recordings').where({ call_id: call.id }).first()).to.not.exist();
            for (const [table, rows] of Object.entries(await rowsHolding([phone.slice(2)]))) {
                expect(rows.every((row) => row.tenant_id !== a.tenantId && row.call_id !== call.id), table).to.be.true();
            }

            // A call erased longer ago is no longer looked at

            await db('calls').where({ id: call.id }).update({ updated_at: new Date(Date.now() - days(3)) });
            await late('much-later');
            expect((await sweep(db, storage, new Date())).erased).to.equal({ recordings: 0, turns: 0, events: 0 });
            await db('recordings').where({ call_id: call.id }).delete();
            await storage.remove(`recordings/${a.tenantId}/${call.id}/much-later.wav`);
        });
    });


    describe('retention', () => {

        const now = new Date(Date.UTC(2026, 5, 1, 12));

        const aged = async (tenant: Tenant, ageDays: number) => {

            const { call, recording } = await addCall(tenant, (await newCampaign(tenant, `Aged ${ageDays}`)).id, newNumber());
            const createdAt = new Date(now.getTime() - days(ageDays));
            await db('recordings').where({ id: recording!.id }).update({ created_at: createdAt });
            await db('call_turns').where({ call_id: call.id }).update({ created_at: createdAt });
            return { call, recording: recording! };
        };

        const kept = async (held: { call: Row; recording: Row }) => ({
            recording: Boolean(await db('recordings').where({ id: held.recording.id }).first('id')),
            audio: await storage.size(held.recording.storage_key).then(() => true, () => false),
            turns: Number((await db('call_turns').where({ call_id: held.call.id }).count('* as n').first())!.n)
        });

        it('deletes only what is older than each tenant\'s limits', async () => {

            const a = await signUp(server);
            const b = await signUp(server);
            const c = await signUp(server);
            await db('tenants').where({ id: a.tenantId }).update({ recording_retention_days: 30, transcript_retention_days: 7 });
            await db('tenants').where({ id: b.tenantId }).update({ transcript_retention_days: 1 });

            const held = {
                aOld: await aged(a, 31),
                aMiddle: await aged(a, 10),
                aYoung: await aged(a, 6),
                bOld: await aged(b, 400),
                bYoung: await aged(b, 0.5),
                cOld: await aged(c, 1000)
            };

            // One row a batch, so that every batch but the last is full

            expect(await sweep(db, storage, now, 1)).to.equal({ recordings: 1, turns: 6, erased: { recordings: 0, turns: 0, events: 0 } });

            expect(await kept(held.aOld)).to.equal({ recording: false, audio: false, turns: 0 });
            expect(await kept(held.aMiddle)).to.equal({ recording: true, audio: true, turns: 0 });
            expect(await kept(held.aYoung)).to.equal({ recording: true, audio: true, turns: 2 });
            expect(await kept(held.bOld)).to.equal({ recording: true, audio: true, turns: 0 });
            expect(await kept(held.bYoung)).to.equal({ recording: true, audio: true, turns: 2 });
            expect(await kept(held.cOld)).to.equal({ recording: true, audio: true, turns: 2 });

            // The calls themselves stay

            expect(await db('calls').where({ id: held.aOld.call.id }).first('outcome')).to.equal({ outcome: 'goal_achieved' });
            expect(await sweep(db, storage, now)).to.equal({ recordings: 0, turns: 0, erased: { recordings: 0, turns: 0, events: 0 } });
        });

        it('deletes transcripts while storage fails', async () => {

            const a = await signUp(server);
            await db('tenants').where({ id: a.tenantId }).update({ recording_retention_days: 1, transcript_retention_days: 1 });
            const held = await aged(a, 2);

            const failing: Storage = { ...wrapped(storage), remove: () => Promise.reject(new Error('storage is away')) };
            await expect(sweep(db, failing, now)).to.reject('storage is away');
            expect(await kept(held)).to.equal({ recording: true, audio: true, turns: 0 });

            await sweep(db, storage, now);
            expect(await kept(held)).to.equal({ recording: false, audio: false, turns: 0 });
        });

        it('runs as a queue job where workers run', async () => {

            expect(server.plugins.core.queues.handled).to.not.include(retentionQueue);

            const worker = await startServer({ role: 'worker' });
            try {
                const core = worker.server.plugins.core;
                expect(core.queues.handled).to.include(retentionQueue);

                const tenant = await signUp(worker.server);
                await core.db('tenants').where({ id: tenant.tenantId }).update({ recording_retention_days: 1, transcript_retention_days: 1 });
                const [campaign] = await core.db('campaigns').insert({ tenant_id: tenant.tenantId, name: 'Old', max_concurrent_calls: 1 }).returning('id');
                const [lead] = await core.db('leads').insert({ tenant_id: tenant.tenantId, campaign_id: campaign.id, phone_number: newNumber(), status: 'completed' }).returning('id');
                const [job] = await core.db('dialer_jobs').insert({ tenant_id: tenant.tenantId, campaign_id: campaign.id, lead_id: lead.id, status: 'completed', attempt: 1 }).returning('id');
                const id = Crypto.randomUUID();
                await core.db('calls').insert({ id, tenant_id: tenant.tenantId, campaign_id: campaign.id, lead_id: lead.id, job_id: job.id, attempt: 1, provider: 'simulator', to_number: '+12125559999', status: 'completed' });

                const old = new Date(Date.now() - days(3));
                const key = `recordings/${tenant.tenantId}/${id}.wav`;
                await core.providers.get('storage').put(key, Readable.from([Buffer.from('old audio')]));
                await core.db('recordings').insert({ tenant_id: tenant.tenantId, call_id: id, provider_recording_id: `test-${id}`, storage_key: key, size_bytes: 9, created_at: old });
                await core.db('call_turns').insert({ call_id: id, tenant_id: tenant.tenantId, seq: 1, speaker: 'agent', text: 'Hello', started_ms: 0, ended_ms: 500, created_at: old });

                // The sweep enqueued at start may have run before these rows: enqueue again until one runs after

                await waitFor(async () => {

                    await core.queues.add(retentionQueue, [{ id: 'sweep', data: {} }]);
                    return !(await core.db('recordings').where({ call_id: id }).first('id'));
                });

                await expect(core.providers.get('storage').size(key)).to.reject();
                expect(await core.db('call_turns').where({ call_id: id }).count('* as n').first()).to.equal({ n: 0 });
            }
            finally {
                await worker.cleanup();
            }
        });

        it('is read and set by the tenant owner', async () => {

            const a = await signUp(server);
            const b = await signUp(server);
            const retention = (res: ServerInjectResponse) => {

                const { recording_retention_days: recordings, transcript_retention_days: transcripts } = body(res);
                return { recording_retention_days: recordings, transcript_retention_days: transcripts };
            };

            const get = async (tenant: Tenant) => retention(await server.inject({ method: 'GET', url: '/api/v1/tenants/me/settings', headers: tenant.headers }));
            const patch = (tenant: Tenant, payload: object) => server.inject({ method: 'PATCH', url: '/api/v1/tenants/me/settings', payload, headers: tenant.headers });

            expect(await get(a)).to.equal({ recording_retention_days: null, transcript_retention_days: null });

            const set = await patch(a, { recording_retention_days: 90 });
            expect(set.statusCode).to.equal(200);
            expect(retention(set)).to.equal({ recording_retention_days: 90, transcript_retention_days: null });
            expect(retention(await patch(a, { transcript_retention_days: 14 }))).to.equal({ recording_retention_days: 90, transcript_retention_days: 14 });
            expect(retention(await patch(a, { recording_retention_days: null }))).to.equal({ recording_retention_days: null, transcript_retention_days: 14 });
            expect(await get(a)).to.equal({ recording_retention_days: null, transcript_retention_days: 14 });
            expect(await get(b)).to.equal({ recording_retention_days: null, transcript_retention_days: null });
        });
    });


    describe('requests', () => {

        it('refuse bad bodies with a detail', async () => {

            const a = await signUp(server);
            const cases: Array<[string, string, object, RegExp]> = [
                ['POST', '/api/v1/privacy/export', {}, /must contain at least one of \[phone_number, email\]/],
                ['POST', '/api/v1/privacy/erase', {}, /must contain at least one of \[phone_number, email\]/],
                ['POST', '/api/v1/privacy/export', { phone_number: 'not a number' }, /^"phone_number" must be a phone number/],
                ['POST', '/api/v1/privacy/erase', { phone_number: '12' }, /^"phone_number" must be a phone number \(Phone number too short\)/],
                ['POST', '/api/v1/privacy/export', { email: 'nobody' }, /"email" must be a valid email/],
                ['POST', '/api/v1/privacy/export', { email: 'a@example.com', name: 'Ada' }, /"name" is not allowed/],
                ['PATCH', '/api/v1/tenants/me/settings', {}, /^Name at least one setting to change$/],
                ['PATCH', '/api/v1/tenants/me/settings', { recording_retention_days: 0 }, /"recording_retention_days" must be greater than or equal to 1/],
                ['PATCH', '/api/v1/tenants/me/settings', { transcript_retention_days: 'soon' }, /"transcript_retention_days" must be a number/],
                ['PATCH', '/api/v1/tenants/me/settings', { keep: 3 }, /"keep" is not allowed/]
            ];

            for (const [method, url, payload, detail] of cases) {
                const res = await server.inject({ method, url, payload, headers: a.headers });
                expect(res.statusCode, `${url} ${JSON.stringify(payload)}`).to.equal(400);
                expect(Object.keys(body(res))).to.equal(['detail']);
                expect(body(res).detail, `${url} ${JSON.stringify(payload)}`).to.match(detail);
            }

            expect(await requests(a)).to.have.length(0);
            expect(await db('tenants').where({ id: a.tenantId }).first('recording_retention_days')).to.equal({ recording_retention_days: null });
        });

        it('are for the tenant owner only', async () => {

            const { a, phone } = await world();
            const member = await signUp(server);
            await db('user_profiles').where({ id: member.user.id }).update({ role: 'user', tenant_id: a.tenantId });

            const routes: Array<[string, string, object | undefined]> = [
                ['POST', '/api/v1/privacy/export', { phone_number: phone }],
                ['POST', '/api/v1/privacy/erase', { phone_number: phone }],
                ['PATCH', '/api/v1/tenants/me/settings', { recording_retention_days: 1 }]
            ];

            for (const [method, url, payload] of routes) {
                const res = await server.inject({ method, url, payload, headers: member.headers });
                expect(res.statusCode, url).to.equal(403);
                expect(body(res), url).to.equal({ detail: 'Your role does not allow this' });
                expect((await server.inject({ method, url, payload })).statusCode, url).to.equal(401);
            }

            expect(await requests(a)).to.have.length(0);
            expect(await db('leads').where({ tenant_id: a.tenantId, phone_number: phone }).count('* as n').first()).to.equal({ n: 2 });
        });
    });
});
