import Code from '@hapi/code';
import Lab from '@hapi/lab';
import type { Server } from '@hapi/hapi';

import { startServer, type Harness } from './lib/harness';
import { signUp } from './lib/session';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


const multipart = (field: string, content: Buffer | string, filename = 'contacts.csv') => {

    const boundary = '----talky-test-boundary';
    const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n`),
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: text/csv\r\n\r\n`),
        Buffer.from(content),
        Buffer.from(`\r\n--${boundary}--\r\n`)
    ]);

    return { payload: body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
};


describe('contacts', () => {

    let harness: Harness;
    let server: Server;
    let owner: Awaited<ReturnType<typeof signUp>>;

    before(async () => {

        harness = await startServer({ importMaxBytes: 64 * 1024, importMaxErrors: 3 });
        server = harness.server;
        owner = await signUp(server);
    });

    after(() => harness.cleanup());

    const call = (method: string, url: string, payload?: object, headers: Record<string, string> = owner.headers) => server.inject({ method, url, payload, headers });

    const newCampaign = async (extra: object = {}, headers = owner.headers) => {

        const res = await call('POST', '/api/v1/campaigns', { name: 'Contacts test', ...extra }, headers);
        return (res.result as { id: string }).id;
    };

    const upload = (campaignId: string, content: Buffer | string, query = '', field = 'file') => {

        const { payload, headers } = multipart(field, content);
        return server.inject({ method: 'POST', url: `/api/v1/contacts/campaigns/${campaignId}/upload${query}`, payload, headers: { ...owner.headers, ...headers } });
    };

    const totalLeads = async (campaignId: string) => ((await call('GET', `/api/v1/campaigns/${campaignId}`)).result as { total_leads: number }).total_leads;

    describe('one at a time', () => {

        it('normalises the reference\'s examples to E.164', async () => {

            const examples = [['(555) 123-4567', '+15551234567'], ['555.123.4567', '+15551234567'], ['+44 20 7946 0958', '+442079460958']];
            for (const [raw, expected] of examples) {
                const res = await call('POST', `/api/v1/campaigns/${await newCampaign()}/contacts`, { phone_number: raw });
                expect(res.statusCode, res.payload).to.equal(201);
                expect((res.result as { phone_number: string }).phone_number).to.equal(expected);
            }
        });

        it('keeps the reference\'s fields and answers 409 for a number already in the campaign, in any format', async () => {

            const campaign = await newCampaign();
            const res = await call('POST', `/api/v1/campaigns/${campaign}/contacts`, {
                phone_number: '(555) 123-4567', first_name: 'John', last_name: 'Doe', email: 'john@example.com', custom_fields: { company: 'Acme Inc' }
            });

            expect(res.statusCode).to.equal(201);
            expect(res.result).to.include({
                phone_number: '+15551234567', first_name: 'John', last_name: 'Doe', email: 'john@example.com', custom_fields: { company: 'Acme Inc' },
                status: 'pending', priority: 5, is_high_value: false, tags: [], call_attempts: 0, last_call_result: null, country: 'US'
            });

            const again = await call('POST', `/api/v1/campaigns/${campaign}/contacts`, { phone_number: '555.123.4567' });
            expect(again.statusCode).to.equal(409);
            expect(again.result).to.equal({ detail: '+15551234567 is already in this campaign' });
            expect(await totalLeads(campaign)).to.equal(1);
        });

        it('refuses numbers that are too short, too long or not numbers, with the reason', async () => {

            const campaign = await newCampaign();
            for (const [raw, detail] of [['123', 'Phone number too short'], ['+1234567890123456789', 'Phone number too long'], ['call me', 'Phone number is not a number']]) {
                const res = await call('POST', `/api/v1/campaigns/${campaign}/contacts`, { phone_number: raw });
                expect(res.statusCode, raw).to.equal(400);
                expect(res.result).to.equal({ detail });
            }

            expect(await totalLeads(campaign)).to.equal(0);
        });

        it('reads numbers without a country code in the campaign\'s region', async () => {

            const campaign = await newCampaign({ phone_region: 'GB' });
            const res = await call('POST', `/api/v1/campaigns/${campaign}/contacts`, { phone_number: '020 7946 0958' });
            expect(res.result).to.include({ phone_number: '+442079460958', country: 'GB', timezones: ['Europe/London'] });
        });

        it('are deleted softly, and a deleted number may be added again', async () => {

            const campaign = await newCampaign();
            const lead = (await call('POST', `/api/v1/campaigns/${campaign}/contacts`, { phone_number: '+15551230001' })).result as { id: string };
            expect(await totalLeads(campaign)).to.equal(1);

            expect((await call('DELETE', `/api/v1/campaigns/${campaign}/contacts/${lead.id}`)).statusCode).to.equal(204);
            expect(await totalLeads(campaign)).to.equal(0);
            expect((await call('DELETE', `/api/v1/campaigns/${campaign}/contacts/${lead.id}`)).statusCode).to.equal(404);

            const row = await server.plugins.core.db('leads').where({ id: lead.id }).first('status');
            expect(row.status).to.equal('deleted');

            expect((await call('POST', `/api/v1/campaigns/${campaign}/contacts`, { phone_number: '+1 555 123 0001' })).statusCode).to.equal(201);
            expect(await totalLeads(campaign)).to.equal(1);
        });
    });

    describe('list', () => {

        it('pages and filters by status and last call result', async () => {

            const campaign = await newCampaign();
            for (let i = 0; i < 7; ++i) {
                await call('POST', `/api/v1/campaigns/${campaign}/contacts`, { phone_number: `+1555200000${i}` });
            }

            const { db } = server.plugins.core;
            const ids = (await db('leads').where({ campaign_id: campaign }).orderBy('created_at').pluck('id')) as string[];
            await db('leads').whereIn('id', ids.slice(0, 2)).update({ status: 'completed', last_call_result: 'answered' });
            await db('leads').where({ id: ids[2] }).update({ status: 'called', last_call_result: 'busy' });

            const first = (await call('GET', `/api/v1/campaigns/${campaign}/contacts?page=1&page_size=3`)).result as Record<string, any>;
            expect(first).to.include({ page: 1, page_size: 3, total: 7 });
            expect(first.items.map((item: { id: string }) => item.id)).to.equal(ids.slice(0, 3));

            const last = (await call('GET', `/api/v1/campaigns/${campaign}/contacts?page=3&page_size=3`)).result as Record<string, any>;
            expect(last.items.map((item: { id: string }) => item.id)).to.equal(ids.slice(6));

            const completed = (await call('GET', `/api/v1/campaigns/${campaign}/contacts?status=completed`)).result as Record<string, any>;
            expect(completed.total).to.equal(2);
            const busy = (await call('GET', `/api/v1/campaigns/${campaign}/contacts?last_call_result=busy`)).result as Record<string, any>;
            expect(busy.items.map((item: { id: string }) => item.id)).to.equal([ids[2]]);

            const tooBig = await call('GET', `/api/v1/campaigns/${campaign}/contacts?page_size=101`);
            expect(tooBig.statusCode).to.equal(400);
            expect(tooBig.result).to.equal({ detail: '"page_size" must be less than or equal to 100' });
        });

        it('hides another tenant\'s campaign and contacts behind 404', async () => {

            const campaign = await newCampaign();
            const lead = (await call('POST', `/api/v1/campaigns/${campaign}/contacts`, { phone_number: '+15553000000' })).result as { id: string };
            const stranger = await signUp(server);

            for (const [method, url, payload] of [
                ['GET', `/api/v1/campaigns/${campaign}/contacts`],
                ['POST', `/api/v1/campaigns/${campaign}/contacts`, { phone_number: '+15553000001' }],
                ['DELETE', `/api/v1/campaigns/${campaign}/contacts/${lead.id}`],
                ['POST', '/api/v1/contacts/bulk', { campaign_id: campaign, contacts: [{ phone_number: '+15553000002' }] }]
            ] as Array<[string, string, object?]>) {
                const res = await call(method, url, payload, stranger.headers);
                expect(res.statusCode, `${method} ${url}`).to.equal(404);
            }

            const { payload, headers } = multipart('file', 'phone\n+15553000003\n');
            const res = await server.inject({ method: 'POST', url: `/api/v1/contacts/campaigns/${campaign}/upload`, payload, headers: { ...stranger.headers, ...headers } });
            expect(res.statusCode).to.equal(404);
            expect(await totalLeads(campaign)).to.equal(1);
        });
    });

    describe('CSV upload', () => {

        it('imports a multipart CSV and answers the reference\'s shape', async () => {

            const campaign = await newCampaign();
            const csv = 'phone_number,first_name,last_name,email\r\n+15551234567,John,Doe,john@example.com\r\n555-987-6543,Jane,Smith,jane@example.com\r\n123,Bad,Number,\r\n(555) 123-4567,John,Again,\r\n';
            const res = await upload(campaign, csv);
            expect(res.statusCode, res.payload).to.equal(200);
            expect(res.result).to.equal({
                total_rows: 4,
                imported: 2,
                failed: 1,
                duplicates_skipped: 1,
                errors: [{ row: 3, error: 'Phone number too short', phone: '123' }]
            });

            expect(await totalLeads(campaign)).to.equal(2);
            const listed = (await call('GET', `/api/v1/campaigns/${campaign}/contacts`)).result as { items: Array<Record<string, unknown>> };
            expect(listed.items.map((item) => item.phone_number).sort()).to.equal(['+15551234567', '+15559876543']);
        });

        it('reports duplicates as errors when skip_duplicates=false', async () => {

            const campaign = await newCampaign();
            await call('POST', `/api/v1/campaigns/${campaign}/contacts`, { phone_number: '+15554000000' });
            const res = await upload(campaign, 'phone\n+15554000000\n+15554000001\n', '?skip_duplicates=false');
            expect(res.result).to.include({ total_rows: 2, imported: 1, failed: 1, duplicates_skipped: 0 });
            expect((res.result as { errors: unknown[] }).errors[0]).to.equal({ row: 1, error: 'Duplicate phone number', phone: '+15554000000' });
        });

        it('refuses what is not a CSV file, or no file, and imports nothing', async () => {

            const campaign = await newCampaign();
            const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]), Buffer.alloc(64)]);
            for (const content of [png, '', 'name,email\nJohn,john@example.com\n']) {
                const res = await upload(campaign, content);
                expect(res.statusCode, String(content).slice(0, 20)).to.equal(400);
                expect((res.result as { detail: string }).detail).to.be.a.string();
            }

            const noFile = await upload(campaign, 'phone\n+15551234567\n', '', 'attachment');
            expect(noFile.statusCode).to.equal(400);
            expect(noFile.result).to.equal({ detail: 'No file in the multipart field "file"' });

            const notMultipart = await server.inject({ method: 'POST', url: `/api/v1/contacts/campaigns/${campaign}/upload`, payload: 'phone\n+15551234567\n', headers: { ...owner.headers, 'content-type': 'text/csv' } });
            expect(notMultipart.statusCode).to.equal(415);

            expect(await totalLeads(campaign)).to.equal(0);
        });

        it('answers 413 for a file over the limit, and imports nothing', async () => {

            const campaign = await newCampaign();
            const rows = Array.from({ length: 5000 }, (_, i) => `+1555${String(5_000_000 + i)},Name ${i}`).join('\n');
            const res = await upload(campaign, `phone,first_name\n${rows}\n`);
            expect(res.statusCode).to.equal(413);
            expect((res.result as { detail: string }).detail).to.be.a.string();
            expect(await totalLeads(campaign)).to.equal(0);
        });

        it('caps the error list while the counts stay exact', async () => {

            const campaign = await newCampaign();
            const res = await upload(campaign, `phone\n${['1', '2', '3', '4', '5', '+15556000000'].join('\n')}\n`);
            expect(res.result).to.include({ total_rows: 6, imported: 1, failed: 5 });
            expect((res.result as { errors: unknown[] }).errors).to.have.length(3);
        });
    });

    describe('bulk JSON', () => {

        it('shares the CSV import: normalises, dedupes, reports rows and keeps custom fields', async () => {

            const campaign = await newCampaign();
            const res = await call('POST', '/api/v1/contacts/bulk', {
                campaign_id: campaign,
                contacts: [
                    { phone_number: '(555) 700-0001', first_name: 'Ann', tags: ['urgent', 'vip'], priority: 8, custom_fields: { company: 'Initech', 'note, with comma': 'a "quoted" value' } },
                    { phone_number: '555.700.0001', first_name: 'Ann again' },
                    { phone_number: 'nope' },
                    { phone_number: '+44 20 7946 0000', is_high_value: true }
                ]
            });

            expect(res.statusCode, res.payload).to.equal(200);
            expect(res.result).to.equal({ total_rows: 4, imported: 2, failed: 1, duplicates_skipped: 1, errors: [{ row: 3, error: 'Phone number is not a number', phone: 'nope' }] });

            const lead = await server.plugins.core.db('leads').where({ campaign_id: campaign, phone_number: '+15557000001' }).first();
            expect(lead).to.include({ first_name: 'Ann', priority: 8, tags: ['urgent', 'vip'] });
            expect(lead.custom_fields).to.equal({ company: 'Initech', 'note, with comma': 'a "quoted" value' });
            expect((await server.plugins.core.db('leads').where({ campaign_id: campaign, phone_number: '+442079460000' }).first()).is_high_value).to.be.true();
        });
    });

    describe('do-not-call list', () => {

        it('adds, lists and removes numbers, and marks the tenant\'s pending leads dnc', async () => {

            const campaign = await newCampaign();
            const other = await newCampaign();
            await call('POST', `/api/v1/campaigns/${campaign}/contacts`, { phone_number: '+15558000000' });
            await call('POST', `/api/v1/campaigns/${other}/contacts`, { phone_number: '(555) 800-0000' });

            const added = await call('POST', '/api/v1/contacts/dnc', { phone_number: '555-800-0000', reason: 'asked to stop' });
            expect(added.statusCode).to.equal(201);
            expect(added.result).to.include({ phone_number: '+15558000000', reason: 'asked to stop' });

            const statuses = await server.plugins.core.db('leads').where({ tenant_id: owner.tenantId, phone_number: '+15558000000' }).pluck('status');
            expect(statuses).to.equal(['dnc', 'dnc']);

            // A number on the list imports as dnc

            const third = await newCampaign();
            await upload(third, 'phone\n+15558000000\n+15558000001\n');
            const imported = await server.plugins.core.db('leads').where({ campaign_id: third }).orderBy('phone_number').pluck('status');
            expect(imported).to.equal(['dnc', 'pending']);
            const single = await call('POST', `/api/v1/campaigns/${await newCampaign()}/contacts`, { phone_number: '+15558000000' });
            expect((single.result as { status: string }).status).to.equal('dnc');

            const listed = (await call('GET', '/api/v1/contacts/dnc')).result as { items: Array<{ phone_number: string }>; total: number };
            expect(listed.total).to.equal(1);
            expect(listed.items[0]!.phone_number).to.equal('+15558000000');

            expect((await call('DELETE', '/api/v1/contacts/dnc/%2B15558000000')).statusCode).to.equal(204);
            expect((await call('DELETE', '/api/v1/contacts/dnc/%2B15558000000')).statusCode).to.equal(404);
            expect(((await call('GET', '/api/v1/contacts/dnc')).result as { total: number }).total).to.equal(0);
        });

        it('is per tenant', async () => {

            await call('POST', '/api/v1/contacts/dnc', { phone_number: '+15558100000' });
            const stranger = await signUp(server);
            expect(((await call('GET', '/api/v1/contacts/dnc', undefined, stranger.headers)).result as { total: number }).total).to.equal(0);
            expect((await call('DELETE', '/api/v1/contacts/dnc/%2B15558100000', undefined, stranger.headers)).statusCode).to.equal(404);
        });

        it('takes a CSV upload of numbers', async () => {

            const { payload, headers } = multipart('file', 'Phone Number;Name\n+1 555 820 0000;A\n555.820.0001;B\nbad;C\n+15558200000;dup\n');
            const res = await server.inject({ method: 'POST', url: '/api/v1/contacts/dnc/upload', payload, headers: { ...owner.headers, ...headers } });
            expect(res.statusCode, res.payload).to.equal(200);
            expect(res.result).to.include({ total_rows: 4, added: 2, failed: 1 });
            expect((res.result as { errors: unknown[] }).errors).to.have.length(1);
        });
    });
});
