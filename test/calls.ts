import Crypto from 'crypto';
import { Readable } from 'stream';

import Code from '@hapi/code';
import Lab from '@hapi/lab';
import type { Server, ServerInjectResponse } from '@hapi/hapi';

import type { Db } from '../core/db';
import type { ByteRange, Storage } from '../plugins/storage/backend';
import { startServer, type Harness } from './lib/harness';
import { signUp } from './lib/session';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


type Tenant = Awaited<ReturnType<typeof signUp>>;
type Row = Record<string, any>;


const iso = (value: Date | null) => (value === null ? null : value.toISOString());

const at = (minutes: number, seconds = 0) => new Date(Date.UTC(2026, 2, 1, 10, minutes, seconds));

const body = (res: ServerInjectResponse) => JSON.parse(res.payload);

const ids = (res: ServerInjectResponse) => body(res).items.map((item: { id: string }) => item.id);


describe('calls and recordings', () => {

    let harness: Harness;
    let server: Server;
    let db: Db;
    let storage: Storage;

    // The API role only: no dialer worker or reconciler touches the rows written here

    before(async () => {

        harness = await startServer({ role: 'api' });
        server = harness.server;
        db = server.plugins.core.db;
        storage = server.plugins.core.providers.get('storage');
    });

    after(() => harness.cleanup());

    const get = (url: string, tenant: Tenant, headers: Record<string, string> = {}) => server.inject({ method: 'GET', url, headers: { ...tenant.headers, ...headers } });

    const newCampaign = async (tenant: Tenant, name: string) => {

        const res = await server.inject({ method: 'POST', url: '/api/v1/campaigns', payload: { name }, headers: tenant.headers });
        return res.result as { id: string; name: string };
    };

    let numbers = 0;

    // A lead, its dialer job and one call of it, as the dialer would leave them once the call ended

    const addCall = async (tenant: Tenant, campaignId: string, fields: Row = {}): Promise<Row> => {

        const phone = `+1212555${String(++numbers).padStart(4, '0')}`;
        const [lead] = await db('leads').insert({ tenant_id: tenant.tenantId, campaign_id: campaignId, phone_number: phone, first_name: 'Ada', last_name: `Lovelace ${numbers}`, status: 'completed' }).returning('*');
        const [job] = await db('dialer_jobs').insert({ tenant_id: tenant.tenantId, campaign_id: campaignId, lead_id: lead.id, status: 'completed', attempt: 1 }).returning('id');
        const id = Crypto.randomUUID();
        const [call] = await db('calls').insert({
            id, tenant_id: tenant.tenantId, campaign_id: campaignId, lead_id: lead.id, job_id: job.id, attempt: 1, provider: 'simulator', provider_call_id: `test-${id}`,
            to_number: phone, status: 'completed', outcome: 'goal_achieved', goal_achieved: true, answered_at: at(0, 5), ended_at: at(0, 47), duration_seconds: 42, billed_minutes: 1,
            ...fields
        }).returning('*');

        return { ...call, lead };
    };

    // The object goes through the storage slot; a recording without bytes has its row only

    const addRecording = async (tenant: Tenant, call: Row, name: string, bytes: Buffer | null, fields: Row = {}): Promise<Row> => {

        const key = `recordings/${tenant.tenantId}/${call.id}/${name}`;
        if (bytes) {
            await storage.put(key, Readable.from([bytes]));
        }

        const [recording] = await db('recordings').insert({
            tenant_id: tenant.tenantId, call_id: call.id, provider_recording_id: `test-${Crypto.randomUUID()}`, storage_key: key, size_bytes: bytes?.length ?? 0, ...fields
        }).returning('*');

        return recording;
    };

    const addTurn = (tenant: Tenant, call: Row, turn: Row) => db('call_turns').insert({ call_id: call.id, tenant_id: tenant.tenantId, interrupted: false, ...turn });

    const expectedCall = (call: Row, campaign: { name: string }, hasRecording: boolean) => ({
        id: call.id,
        campaign_id: call.campaign_id,
        campaign_name: campaign.name,
        lead_id: call.lead_id,
        phone_number: call.to_number,
        status: call.status,
        outcome: call.outcome,
        goal_achieved: call.goal_achieved,
        machine: call.machine,
        attempt: call.attempt,
        duration_seconds: call.duration_seconds,
        billed_minutes: call.billed_minutes,
        answered_at: iso(call.answered_at),
        ended_at: iso(call.ended_at),
        created_at: iso(call.created_at),
        has_recording: hasRecording
    });

    const expectedRecording = (recording: Row, campaignId: string, contentType: string, duration: number | null) => ({
        id: recording.id,
        call_id: recording.call_id,
        campaign_id: campaignId,
        size_bytes: Number(recording.size_bytes),
        duration_seconds: duration,
        content_type: contentType,
        started_at: iso(recording.started_at),
        ended_at: iso(recording.ended_at),
        created_at: iso(recording.created_at),
        download_url: `/api/v1/recordings/${recording.id}/download`
    });

    const expectRefused = async (url: string, tenant: Tenant, detail: RegExp) => {

        const res = await get(url, tenant);
        expect(res.statusCode, url).to.equal(400);
        expect(Object.keys(body(res)), url).to.equal(['detail']);
        expect(body(res).detail, url).to.match(detail);
    };

    const expectNotFound = async (url: string, tenant: Tenant, detail: string) => {

        const res = await get(url, tenant);
        expect(res.statusCode, url).to.equal(404);
        expect(body(res), url).to.equal({ detail });
    };


    describe('GET /api/v1/calls', () => {

        let owner: Tenant;
        let other: Tenant;
        let alpha: { id: string; name: string };
        let beta: { id: string; name: string };
        let theirs: { id: string; name: string };
        let calls: Row[];
        let theirCall: Row;

        before(async () => {

            owner = await signUp(server);
            other = await signUp(server);
            alpha = await newCampaign(owner, 'Alpha');
            beta = await newCampaign(owner, 'Beta');
            theirs = await newCampaign(other, 'Theirs');

            calls = [
                await addCall(owner, alpha.id, { created_at: at(0) }),
                await addCall(owner, alpha.id, { created_at: at(5), outcome: 'no_answer', goal_achieved: false, answered_at: null, ended_at: at(5, 30), duration_seconds: 0, billed_minutes: 0 }),
                await addCall(owner, beta.id, { created_at: at(10), outcome: 'voicemail', goal_achieved: false, machine: true, duration_seconds: 19 }),
                await addCall(owner, beta.id, { created_at: at(15), status: 'in_progress', outcome: 'answered', goal_achieved: false, ended_at: null, duration_seconds: 0, billed_minutes: 0 }),
                await addCall(owner, alpha.id, { created_at: at(20), outcome: 'busy', goal_achieved: false, attempt: 2, answered_at: null, duration_seconds: 0, billed_minutes: 0 })
            ];

            await addRecording(owner, calls[0]!, 'conversation.wav', Buffer.from('RIFF'));
            theirCall = await addCall(other, theirs.id, { created_at: at(12) });
        });

        it('lists the tenant\'s calls newest first, each with the fields of its row', async () => {

            const res = await get('/api/v1/calls', owner);
            expect(res.statusCode, res.payload).to.equal(200);
            const page = body(res);
            expect(page).to.include({ page: 1, page_size: 50, total: 5 });
            expect(ids(res)).to.equal([4, 3, 2, 1, 0].map((i) => calls[i]!.id));

            const byId = new Map(page.items.map((item: Row) => [item.id, item]));
            expect(byId.get(calls[0]!.id)).to.equal(expectedCall(calls[0]!, alpha, true));
            expect(byId.get(calls[1]!.id)).to.equal(expectedCall(calls[1]!, alpha, false));
            expect(byId.get(calls[2]!.id)).to.equal(expectedCall(calls[2]!, beta, false));
            expect(byId.get(calls[3]!.id)).to.equal(expectedCall(calls[3]!, beta, false));
            expect(byId.get(calls[4]!.id)).to.equal(expectedCall(calls[4]!, alpha, false));
        });

        it('pages through them, with the total on every page', async () => {

            const pages = [];
            for (const page of [1, 2, 3, 4]) {
                const res = await get(`/api/v1/calls?page=${page}&page_size=2`, owner);
                expect(body(res)).to.include({ page, page_size: 2, total: 5 });
                pages.push(ids(res));
            }

            expect(pages).to.equal([[calls[4]!.id, calls[3]!.id], [calls[2]!.id, calls[1]!.id], [calls[0]!.id], []]);
        });

        it('filters by campaign, outcome, status and number', async () => {

            const expectIds = async (query: string, expected: number[]) => {

                const res = await get(`/api/v1/calls?${query}`, owner);
                expect(res.statusCode, query).to.equal(200);
                expect(ids(res), query).to.equal(expected.map((i) => calls[i]!.id));
                expect(body(res).total, query).to.equal(expected.length);
            };

            await expectIds(`campaign_id=${alpha.id}`, [4, 1, 0]);
            await expectIds(`campaign_id=${beta.id}`, [3, 2]);
            await expectIds('outcome=voicemail', [2]);
            await expectIds('status=in_progress', [3]);
            await expectIds('status=completed', [4, 2, 1, 0]);
            await expectIds(`campaign_id=${alpha.id}&outcome=no_answer`, [1]);
            await expectIds(`campaign_id=${alpha.id}&outcome=voicemail`, []);

            // Any format of the number finds the call made to it in E.164

            const national = calls[2]!.to_number.replace(/^\+1(\d{3})(\d{3})(\d{4})$/, '($1) $2-$3');
            expect(national).to.not.equal(calls[2]!.to_number);
            await expectIds(`phone=${encodeURIComponent(national)}`, [2]);
            await expectIds(`phone=${encodeURIComponent(calls[4]!.to_number)}`, [4]);

            // Another tenant's campaign or number finds nothing

            await expectIds(`campaign_id=${theirs.id}`, []);
            await expectIds(`phone=${encodeURIComponent(theirCall.to_number)}`, []);
        });

        it('filters by creation time, from included and to excluded', async () => {

            const expectIds = async (query: string, expected: number[]) => {

                const res = await get(`/api/v1/calls?${query}`, owner);
                expect(res.statusCode, query).to.equal(200);
                expect(ids(res), query).to.equal(expected.map((i) => calls[i]!.id));
            };

            await expectIds(`from=${at(5).toISOString()}`, [4, 3, 2, 1]);
            await expectIds(`to=${at(10).toISOString()}`, [1, 0]);
            await expectIds(`from=${at(5).toISOString()}&to=${at(15).toISOString()}`, [2, 1]);
            await expectIds(`from=${at(5, 1).toISOString()}&to=${at(15, 1).toISOString()}`, [3, 2]);
            await expectIds(`from=${at(10).toISOString()}&to=${at(10).toISOString()}`, []);
            await expectIds('from=2026-03-02', []);
            await expectIds('to=2026-03-02', [4, 3, 2, 1, 0]);
        });

        it('refuses bad filters with a detail naming them', async () => {

            await expectRefused('/api/v1/calls?page=0', owner, /"page" must be greater than or equal to 1/);
            await expectRefused('/api/v1/calls?page_size=101', owner, /"page_size" must be less than or equal to 100/);
            await expectRefused('/api/v1/calls?campaign_id=alpha', owner, /"campaign_id" must be a valid GUID/);
            await expectRefused('/api/v1/calls?outcome=won', owner, /"outcome" must be one of/);
            await expectRefused('/api/v1/calls?status=done', owner, /"status" must be one of/);
            await expectRefused('/api/v1/calls?from=yesterday', owner, /"from" must be in ISO 8601 date format/);
            await expectRefused(`/api/v1/calls?from=${at(10).toISOString()}&to=${at(5).toISOString()}`, owner, /^"to" must not be before "from"$/);
            await expectRefused('/api/v1/calls?phone=call%20me', owner, /^"phone" must be a phone number \(Phone number is not a number\)$/);
            await expectRefused('/api/v1/calls?phone=123', owner, /^"phone" must be a phone number \(Phone number too short\)$/);
            await expectRefused('/api/v1/calls?tenant_id=x', owner, /"tenant_id" is not allowed/);
        });

        it('shows another tenant only its own calls', async () => {

            const res = await get('/api/v1/calls', other);
            expect(body(res)).to.equal({ items: [expectedCall(theirCall, theirs, false)], page: 1, page_size: 50, total: 1 });
        });

        it('needs credentials', async () => {

            const res = await server.inject('/api/v1/calls');
            expect(res.statusCode).to.equal(401);
            expect(Object.keys(body(res))).to.equal(['detail']);
        });
    });


    describe('GET /api/v1/calls/{call_id}', () => {

        let owner: Tenant;
        let other: Tenant;
        let campaign: { id: string; name: string };
        let call: Row;
        let quiet: Row;
        let recordings: Row[];

        before(async () => {

            owner = await signUp(server);
            other = await signUp(server);
            campaign = await newCampaign(owner, 'Detail');
            call = await addCall(owner, campaign.id, { created_at: at(30) });
            quiet = await addCall(owner, campaign.id, { created_at: at(31), status: 'completed', outcome: 'no_answer', goal_achieved: false, answered_at: null, duration_seconds: 0, billed_minutes: 0 });

            recordings = [
                await addRecording(owner, call, 'conversation.wav', Buffer.alloc(64), { created_at: at(31), started_at: at(30, 5), ended_at: at(30, 47) }),
                await addRecording(owner, call, 'provider.mp3', Buffer.alloc(32), { created_at: at(32) })
            ];

            // Events written out of order of arrival: the detail lists them as they arrived

            for (const [status, seconds] of [['completed', 47], ['started', 0], ['answered', 5], ['ringing', 2]] as const) {
                await db('call_events').insert({ call_id: call.id, provider_call_id: call.provider_call_id, status, applied: true, payload: '{}', received_at: at(30, seconds) });
            }

            // The greeting answers nobody; a caller's turn has no reply latency, even one written with it

            await addTurn(owner, call, { seq: 1, speaker: 'agent', text: 'Hi, this is Alex.', started_ms: 0, ended_ms: 1500 });
            await addTurn(owner, call, { seq: 2, speaker: 'caller', text: 'Hello?', started_ms: 1800, ended_ms: 2400, response_ms: 5000 });
            await addTurn(owner, call, { seq: 3, speaker: 'agent', text: 'Do you have a minute?', started_ms: 2800, ended_ms: 4000, response_ms: 400.5, endpointing_ms: 200, llm_ms: 120, tts_ms: 60, overhead_ms: 20.5 });
            await addTurn(owner, call, { seq: 4, speaker: 'caller', text: 'Sure.', started_ms: 4500, ended_ms: 5000 });
            await addTurn(owner, call, { seq: 5, speaker: 'agent', text: 'Great.', started_ms: 5600, ended_ms: 6200, response_ms: 600.25, endpointing_ms: 300, stt_ms: 90, llm_ms: 150, tts_ms: 100, overhead_ms: 50.25 });
        });

        it('gives the call with its lead, campaign, recordings, events and reply latency', async () => {

            const res = await get(`/api/v1/calls/${call.id}`, owner);
            expect(res.statusCode, res.payload).to.equal(200);
            expect(body(res)).to.equal({
                ...expectedCall(call, campaign, true),
                lead: { id: call.lead.id, first_name: 'Ada', last_name: call.lead.last_name, phone_number: call.lead.phone_number },
                campaign: { id: campaign.id, name: 'Detail' },
                recordings: [
                    expectedRecording(recordings[0]!, campaign.id, 'audio/wav', 42),
                    expectedRecording(recordings[1]!, campaign.id, 'audio/mpeg', null)
                ],
                events: [0, 2, 5, 47].map((seconds, i) => ({ status: ['started', 'ringing', 'answered', 'completed'][i], received_at: iso(at(30, seconds)) })),
                latency: { turns: 5, mean_response_ms: 500.4, max_response_ms: 600.3 }
            });
        });

        it('gives a call nothing was kept of with empty lists and no latency', async () => {

            const res = await get(`/api/v1/calls/${quiet.id}`, owner);
            expect(res.statusCode).to.equal(200);
            expect(body(res)).to.include({ id: quiet.id, outcome: 'no_answer', has_recording: false, recordings: [], events: [], latency: { turns: 0, mean_response_ms: null, max_response_ms: null } });
        });

        it('is not found for another tenant, nor for an unknown id', async () => {

            await expectNotFound(`/api/v1/calls/${call.id}`, other, 'Call not found');
            await expectNotFound(`/api/v1/calls/${Crypto.randomUUID()}`, owner, 'Call not found');
            await expectRefused('/api/v1/calls/123', owner, /"call_id" must be a valid GUID/);
        });
    });


    describe('GET /api/v1/calls/{call_id}/transcript', () => {

        let owner: Tenant;
        let other: Tenant;
        let call: Row;
        let silent: Row;

        before(async () => {

            owner = await signUp(server);
            other = await signUp(server);
            const campaign = await newCampaign(owner, 'Transcript');
            call = await addCall(owner, campaign.id);
            silent = await addCall(owner, campaign.id, { outcome: 'voicemail', goal_achieved: false, machine: true });

            // Written out of order: the transcript follows seq

            await addTurn(owner, call, { seq: 3, speaker: 'agent', text: 'I can book you for Tuesday.', started_ms: 5200, ended_ms: 7100, interrupted: true, response_ms: 650.5, endpointing_ms: 250, stt_ms: null, llm_ms: 210.25, tts_ms: 95, overhead_ms: 95.25 });
            await addTurn(owner, call, { seq: 1, speaker: 'agent', text: 'Hi, this is Alex from Acme.', started_ms: 0, ended_ms: 2100 });
            await addTurn(owner, call, { seq: 2, speaker: 'caller', text: 'Hi, what is it about?', started_ms: 2500, ended_ms: 4550 });
            await addTurn(owner, call, { seq: 4, speaker: 'caller', text: '', started_ms: 6900, ended_ms: 7400 });
        });

        it('gives the turns in order, with each measured reply\'s latency', async () => {

            const res = await get(`/api/v1/calls/${call.id}/transcript`, owner);
            expect(res.statusCode, res.payload).to.equal(200);
            expect(body(res)).to.equal({
                call_id: call.id,
                turns: [
                    { seq: 1, speaker: 'agent', text: 'Hi, this is Alex from Acme.', started_ms: 0, ended_ms: 2100, interrupted: false, latency: null },
                    { seq: 2, speaker: 'caller', text: 'Hi, what is it about?', started_ms: 2500, ended_ms: 4550, interrupted: false, latency: null },
                    {
                        seq: 3, speaker: 'agent', text: 'I can book you for Tuesday.', started_ms: 5200, ended_ms: 7100, interrupted: true,
                        latency: { response_ms: 650.5, endpointing_ms: 250, stt_ms: null, llm_ms: 210.25, tts_ms: 95, overhead_ms: 95.25 }
                    },
                    { seq: 4, speaker: 'caller', text: '', started_ms: 6900, ended_ms: 7400, interrupted: false, latency: null }
                ]
            });
        });

        it('gives no turns for a call without a conversation', async () => {

            const res = await get(`/api/v1/calls/${silent.id}/transcript`, owner);
            expect(res.statusCode).to.equal(200);
            expect(body(res)).to.equal({ call_id: silent.id, turns: [] });
        });

        it('is not found for another tenant, nor for an unknown id', async () => {

            await expectNotFound(`/api/v1/calls/${call.id}/transcript`, other, 'Call not found');
            await expectNotFound(`/api/v1/calls/${Crypto.randomUUID()}/transcript`, owner, 'Call not found');
            await expectRefused('/api/v1/calls/abc/transcript', owner, /"call_id" must be a valid GUID/);
        });
    });


    describe('GET /api/v1/recordings', () => {

        let owner: Tenant;
        let other: Tenant;
        let first: { id: string; name: string };
        let second: { id: string; name: string };
        let calls: Row[];
        let recordings: Row[];
        let theirCall: Row;
        let theirRecording: Row;

        before(async () => {

            owner = await signUp(server);
            other = await signUp(server);
            first = await newCampaign(owner, 'First');
            second = await newCampaign(owner, 'Second');
            calls = [await addCall(owner, first.id), await addCall(owner, second.id)];

            recordings = [
                await addRecording(owner, calls[0]!, 'conversation.wav', Buffer.alloc(100), { created_at: at(40), started_at: at(39, 10), ended_at: at(39, 40) }),
                await addRecording(owner, calls[0]!, 'provider.MP3', Buffer.alloc(200), { created_at: at(41) }),
                await addRecording(owner, calls[1]!, 'provider.ogg', Buffer.alloc(300), { created_at: at(42), started_at: at(41, 0), ended_at: at(41, 59) }),
                await addRecording(owner, calls[1]!, 'raw', Buffer.alloc(400), { created_at: at(43) })
            ];

            const theirs = await newCampaign(other, 'Theirs');
            theirCall = await addCall(other, theirs.id);
            theirRecording = await addRecording(other, theirCall, 'conversation.wav', Buffer.alloc(10), { created_at: at(41, 30) });
        });

        it('lists the tenant\'s recordings newest first, typed by their extension', async () => {

            const res = await get('/api/v1/recordings', owner);
            expect(res.statusCode, res.payload).to.equal(200);
            expect(body(res)).to.equal({
                items: [
                    expectedRecording(recordings[3]!, second.id, 'application/octet-stream', null),
                    expectedRecording(recordings[2]!, second.id, 'application/octet-stream', 59),
                    expectedRecording(recordings[1]!, first.id, 'audio/mpeg', null),
                    expectedRecording(recordings[0]!, first.id, 'audio/wav', 30)
                ],
                page: 1,
                page_size: 50,
                total: 4
            });
        });

        it('pages through them', async () => {

            const pages = [];
            for (const page of [1, 2, 3]) {
                const res = await get(`/api/v1/recordings?page=${page}&page_size=3`, owner);
                expect(body(res)).to.include({ page, page_size: 3, total: 4 });
                pages.push(ids(res));
            }

            expect(pages).to.equal([[recordings[3]!.id, recordings[2]!.id, recordings[1]!.id], [recordings[0]!.id], []]);
        });

        it('filters by call, campaign and creation time', async () => {

            const expectIds = async (query: string, expected: number[]) => {

                const res = await get(`/api/v1/recordings?${query}`, owner);
                expect(res.statusCode, query).to.equal(200);
                expect(ids(res), query).to.equal(expected.map((i) => recordings[i]!.id));
                expect(body(res).total, query).to.equal(expected.length);
            };

            await expectIds(`call_id=${calls[0]!.id}`, [1, 0]);
            await expectIds(`campaign_id=${second.id}`, [3, 2]);
            await expectIds(`campaign_id=${first.id}&call_id=${calls[1]!.id}`, []);
            await expectIds(`from=${at(41).toISOString()}`, [3, 2, 1]);
            await expectIds(`to=${at(42).toISOString()}`, [1, 0]);
            await expectIds(`from=${at(41).toISOString()}&to=${at(43).toISOString()}&campaign_id=${second.id}`, [2]);
            await expectIds(`call_id=${theirCall.id}`, []);
        });

        it('refuses bad filters with a detail naming them', async () => {

            await expectRefused('/api/v1/recordings?call_id=1', owner, /"call_id" must be a valid GUID/);
            await expectRefused('/api/v1/recordings?campaign_id=x', owner, /"campaign_id" must be a valid GUID/);
            await expectRefused('/api/v1/recordings?to=soon', owner, /"to" must be in ISO 8601 date format/);
            await expectRefused(`/api/v1/recordings?from=${at(43).toISOString()}&to=${at(40).toISOString()}`, owner, /^"to" must not be before "from"$/);
            await expectRefused('/api/v1/recordings?page_size=0', owner, /"page_size" must be greater than or equal to 1/);
        });

        it('shows another tenant only its own recordings', async () => {

            const res = await get('/api/v1/recordings', other);
            expect(body(res).items).to.equal([expectedRecording(theirRecording, theirCall.campaign_id, 'audio/wav', null)]);
        });
    });


    describe('GET /api/v1/recordings/{recording_id}', () => {

        let owner: Tenant;
        let other: Tenant;
        let campaign: { id: string; name: string };
        let recording: Row;

        before(async () => {

            owner = await signUp(server);
            other = await signUp(server);
            campaign = await newCampaign(owner, 'One recording');
            const call = await addCall(owner, campaign.id);
            recording = await addRecording(owner, call, 'conversation.wav', Buffer.alloc(1234), { started_at: at(50, 0), ended_at: at(51, 15) });
        });

        it('gives the recording as the list does', async () => {

            const res = await get(`/api/v1/recordings/${recording.id}`, owner);
            expect(res.statusCode, res.payload).to.equal(200);
            expect(body(res)).to.equal(expectedRecording(recording, campaign.id, 'audio/wav', 75));

            const listed = await get('/api/v1/recordings', owner);
            expect(body(listed).items).to.equal([body(res)]);
        });

        it('is not found for another tenant, nor for an unknown id', async () => {

            await expectNotFound(`/api/v1/recordings/${recording.id}`, other, 'Recording not found');
            await expectNotFound(`/api/v1/recordings/${Crypto.randomUUID()}`, owner, 'Recording not found');
            await expectRefused('/api/v1/recordings/latest', owner, /"recording_id" must be a valid GUID/);
        });
    });


    describe('GET /api/v1/recordings/{recording_id}/download', () => {

        let owner: Tenant;
        let other: Tenant;
        let call: Row;
        let wav: Row;
        const audio = Crypto.randomBytes(1000);
        const reads: Array<ByteRange | undefined> = [];
        let storageGet: Storage['get'];

        // Every read of the storage slot is noted with the range it asked for

        before(async () => {

            owner = await signUp(server);
            other = await signUp(server);
            const campaign = await newCampaign(owner, 'Downloads');
            call = await addCall(owner, campaign.id);
            wav = await addRecording(owner, call, 'conversation.wav', audio);

            storageGet = storage.get;
            storage.get = (key, range) => {

                reads.push(range);
                return storageGet.call(storage, key, range);
            };
        });

        after(() => {

            storage.get = storageGet;
        });

        const download = (recording: Row, headers: Record<string, string> = {}, tenant = owner) => {

            reads.length = 0;
            return get(`/api/v1/recordings/${recording.id}/download`, tenant, headers);
        };

        it('sends the whole recording, typed, sized and named', async () => {

            const res = await download(wav);
            expect(res.statusCode).to.equal(200);
            expect(res.rawPayload).to.equal(audio);
            expect(res.headers['content-type']).to.equal('audio/wav');
            expect(res.headers['content-length']).to.equal('1000');
            expect(res.headers['accept-ranges']).to.equal('bytes');
            expect(res.headers['content-disposition']).to.equal(`attachment; filename="call-${call.id}-conversation.wav"`);
            expect(res.headers['content-range']).to.not.exist();
            expect(reads).to.equal([undefined]);
        });

        it('types mp3 as audio/mpeg and anything else as bytes', async () => {

            const mp3 = await addRecording(owner, call, 'provider.mp3', Buffer.from('ID3 audio'));
            const flac = await addRecording(owner, call, 'provider.flac', Buffer.from('fLaC audio'));

            const mpeg = await download(mp3);
            expect(mpeg.headers['content-type']).to.equal('audio/mpeg');
            expect(mpeg.rawPayload.toString()).to.equal('ID3 audio');

            const bytes = await download(flac);
            expect(bytes.headers['content-type']).to.equal('application/octet-stream');
            expect(bytes.headers['content-disposition']).to.equal(`attachment; filename="call-${call.id}-provider.flac"`);
            expect(bytes.rawPayload.toString()).to.equal('fLaC audio');
        });

        it('sends an empty recording as 200, not 204', async () => {

            const empty = await addRecording(owner, call, 'empty.wav', Buffer.alloc(0));
            const res = await download(empty);
            expect(res.statusCode).to.equal(200);
            expect(res.headers['content-length']).to.equal('0');
            expect(res.rawPayload.length).to.equal(0);
        });

        it('sends one range of bytes as 206, reading only those from storage', async () => {

            const expectRange = async (range: string, start: number, end: number) => {

                const res = await download(wav, { range });
                expect(res.statusCode, range).to.equal(206);
                expect(res.rawPayload, range).to.equal(audio.subarray(start, end + 1));
                expect(res.headers['content-range'], range).to.equal(`bytes ${start}-${end}/1000`);
                expect(res.headers['content-length'], range).to.equal(String(end - start + 1));
                expect(res.headers['content-type'], range).to.equal('audio/wav');
                expect(res.headers['accept-ranges'], range).to.equal('bytes');
                expect(reads, range).to.equal([{ start, end }]);
            };

            await expectRange('bytes=0-99', 0, 99);
            await expectRange('bytes=100-100', 100, 100);
            await expectRange('bytes=990-5000', 990, 999);                 // an end past the last byte stops there
            await expectRange('bytes=600-', 600, 999);
            await expectRange('bytes=-10', 990, 999);
            await expectRange('bytes=-4000', 0, 999);                      // a suffix longer than the object is all of it
            await expectRange('Bytes=5-9', 5, 9);                          // the unit is case-insensitive
        });

        it('answers 416 with the size for a range past the end', async () => {

            for (const range of ['bytes=1000-', 'bytes=1000-1010', 'bytes=5000-6000', 'bytes=-0']) {
                const res = await download(wav, { range });
                expect(res.statusCode, range).to.equal(416);
                expect(res.headers['content-range'], range).to.equal('bytes */1000');
                expect(body(res), range).to.equal({ detail: 'The recording has 1000 bytes; the range asked for is outside them' });
                expect(reads, range).to.equal([]);
            }
        });

        it('ignores several ranges, other units and malformed ranges, sending the whole', async () => {

            for (const range of ['bytes=0-1,5-9', 'bytes=0-1, -5', 'items=0-9', 'bytes=9-2', 'bytes=-', 'bytes=a-b', 'bytes = 0-9', 'bytes=0x10-20', '0-9']) {
                const res = await download(wav, { range });
                expect(res.statusCode, range).to.equal(200);
                expect(res.rawPayload.equals(audio), range).to.be.true();
                expect(res.headers['content-range'], range).to.not.exist();
                expect(reads, range).to.equal([undefined]);
            }
        });

        it('sends the whole for a range with If-Range, having no validator to match', async () => {

            const res = await download(wav, { range: 'bytes=0-9', 'if-range': '"v1"' });
            expect(res.statusCode).to.equal(200);
            expect(res.rawPayload).to.equal(audio);
        });

        it('is not found when the stored object is missing', async () => {

            const gone = await addRecording(owner, call, 'gone.wav', null, { size_bytes: 5000 });
            for (const headers of [{}, { range: 'bytes=0-9' }] as Array<Record<string, string>>) {
                const res = await download(gone, headers);
                expect(res.statusCode).to.equal(404);
                expect(body(res)).to.equal({ detail: 'The recording\'s audio is missing from storage' });
            }
        });

        it('answers 500 when storage fails otherwise, not hiding it as missing', async () => {

            const size = storage.size;
            storage.size = () => Promise.reject(new Error('disk on fire'));
            try {
                const res = await download(wav);
                expect(res.statusCode).to.equal(500);
                expect(body(res).detail).to.match(/^Internal server error \(request .+\)$/);
            }
            finally {
                storage.size = size;
            }
        });

        it('is documented as audio in the OpenAPI document', async () => {

            const doc = body(await server.inject('/api/v1/openapi.json'));
            const responses = doc.paths['/api/v1/recordings/{recording_id}/download'].get.responses;
            expect(Object.keys(responses)).to.equal(['200', '206', '416']);
            expect(Object.keys(responses['206'].content)).to.equal(['audio/wav', 'audio/mpeg', 'application/octet-stream']);
            expect(responses['200'].content['audio/wav'].schema).to.equal({ type: 'string', format: 'binary' });
        });

        it('is not found for another tenant', async () => {

            const res = await download(wav, { range: 'bytes=0-9' }, other);
            expect(res.statusCode).to.equal(404);
            expect(body(res)).to.equal({ detail: 'Recording not found' });
            expect(reads).to.equal([]);

            await expectRefused('/api/v1/recordings/x/download', owner, /"recording_id" must be a valid GUID/);
        });
    });
});
