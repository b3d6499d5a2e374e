import { isAscii } from 'buffer';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';

import { parse } from 'fast-csv';
import Iconv from 'iconv-lite';

import { normalizePhone, type CountryCode } from './phone';


// A whole-file problem: nothing of the file is imported, and the route answers statusCode with
// the message as its detail.

export class ImportError extends Error {

    override name = 'ImportError';

    constructor(message: string, readonly statusCode = 400) {

        super(message);
    }
}


export interface Contact {
    row: number;
    phone_number: string;
    raw_phone: string;
    first_name: string | null;
    last_name: string | null;
    email: string | null;
    country: string | null;
    timezones: readonly string[];
    custom_fields: Record<string, string>;
    priority: number;
    is_high_value: boolean;
    tags: string[];
    consent_at?: string;                         // ISO 8601 in UTC; absent when the row gives none
    consent_source?: string;
}

export interface RowError {
    row: number;
    error: string;
    phone: string | null;
}

export interface ContactBatch {
    contacts: Contact[];
    errors: RowError[];
}

export interface ReadOptions {
    defaultRegion: CountryCode;
    maxRows?: number;
    maxBytes?: number;
    batchSize?: number;
}


// Decoding: UTF-8 passes through untouched (fast-csv decodes it); UTF-16 with a byte order mark
// and Windows-1252 are converted to UTF-8 first. A file is taken for UTF-8 until its first
// non-ASCII bytes fail to decode as UTF-8, since ASCII reads the same in both.

const empty: Buffer = Buffer.alloc(0);
const sampleSize = 4096;
const pieceSize = 65536;


const isValidUtf8 = (bytes: Buffer) => {

    try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
        return true;
    }
    catch {
        return false;
    }
};


class Transcoder {

    private mode: 'start' | 'ascii' | 'utf8' | 'convert' = 'start';
    private decoder: ReturnType<typeof Iconv.getDecoder> | undefined;
    private held = empty;

    write(chunk: Buffer, last = false): Buffer {

        let bytes = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
        this.held = empty;

        if (this.mode === 'start') {
            if (bytes.length < 4 && !last) {
                this.held = bytes;
                return empty;
            }

            bytes = this.detectBom(bytes);
        }

        if (this.mode === 'ascii' && !isAscii(bytes)) {
            const at = bytes.findIndex((byte) => byte > 0x7f);
            if (bytes.length - at < 4 && !last) {                       // too little to judge a multi-byte sequence
                this.held = bytes.subarray(at);
                return bytes.subarray(0, at);
            }

            if (isValidUtf8(bytes.subarray(at))) {
                this.mode = 'utf8';
            }
            else {
                this.convertFrom('windows-1252');
                return Buffer.concat([bytes.subarray(0, at), this.convert(bytes.subarray(at))]);
            }
        }

        return this.mode === 'convert' ? this.convert(bytes) : bytes;
    }

    end(): Buffer {

        const rest = this.write(empty, true);
        return this.decoder ? Buffer.concat([rest, Buffer.from(this.decoder.end() ?? '')]) : rest;
    }

    private detectBom(bytes: Buffer) {

        if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
            this.mode = 'utf8';
            return bytes.subarray(3);
        }

        if (bytes[0] === 0xff && bytes[1] === 0xfe) {
            this.convertFrom('utf-16le');
            return bytes.subarray(2);
        }

        if (bytes[0] === 0xfe && bytes[1] === 0xff) {
            this.convertFrom('utf-16be');
            return bytes.subarray(2);
        }

        this.mode = 'ascii';
        return bytes;
    }

    private convertFrom(encoding: string) {

        this.mode = 'convert';
        this.decoder = Iconv.getDecoder(encoding);
    }

    private convert(bytes: Buffer) {

        return Buffer.from(this.decoder!.write(bytes), 'utf8');
    }
}


// Control characters other than tab and line breaks do not occur in text, beyond a stray one
// such as a DOS end-of-file mark; a NUL cannot even be stored by PostgreSQL

const isBinarySample = (bytes: Buffer) => {

    let controls = 0;
    for (const byte of bytes) {
        if (byte < 0x09 || (byte > 0x0d && byte < 0x20)) {
            ++controls;
        }
    }

    return controls > Math.max(1, bytes.length / 100);
};


const notCsv = () => new ImportError('The file is not a CSV file: it contains binary data');


const decode = async function* (input: AsyncIterable<Buffer | string>, maxBytes: number): AsyncGenerator<Buffer> {

    const transcoder = new Transcoder();
    let size = 0;
    let sampled = 0;

    const check = (bytes: Buffer) => {

        if (bytes.includes(0)) {
            throw notCsv();
        }

        if (sampled < sampleSize && bytes.length) {
            const sample = bytes.subarray(0, sampleSize - sampled);
            sampled += sample.length;
            if (isBinarySample(sample)) {
                throw notCsv();
            }
        }

        return bytes;
    };

    for await (const chunk of input) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        size += bytes.length;
        if (size > maxBytes) {
            throw new ImportError(`The file is larger than ${maxBytes} bytes`, 413);
        }

        for (let i = 0; i < bytes.length; i += pieceSize) {
            yield check(transcoder.write(bytes.subarray(i, i + pieceSize)));
        }
    }

    yield check(transcoder.end());
};


// The delimiter is the one of comma, semicolon and tab found most often outside quotes in the
// header line

const sniffDelimiter = (line: string) => {

    const counts: Record<string, number> = { ',': 0, ';': 0, '\t': 0 };
    let quoted = false;
    for (const char of line) {
        if (char === '"') {
            quoted = !quoted;
        }
        else if (!quoted && char in counts) {
            ++counts[char]!;
        }
    }

    return [';', '\t'].reduce((best, candidate) => (counts[candidate]! > counts[best]! ? candidate : best), ',');
};


const headerLine = (text: string) => text.split(/\r\n|\r|\n/).find((line) => line.trim()) ?? '';


// Headers are matched in any case and spelling of separators, so "Phone Number", "phone-number"
// and "PHONE_NUMBER" are one name

type Field = 'phone_number' | 'first_name' | 'last_name' | 'email' | 'priority' | 'is_high_value' | 'tags' | 'consent_at' | 'consent_source';


const aliases: Record<Field, string[]> = {
    phone_number: ['phone_number', 'phone', 'phonenumber', 'mobile', 'cell', 'telephone', 'tel', 'number', 'mobile_number', 'mobile_phone', 'cell_phone', 'phone_no'],
    first_name: ['first_name', 'firstname', 'first', 'given_name', 'givenname'],
    last_name: ['last_name', 'lastname', 'surname', 'family_name', 'familyname', 'last'],
    email: ['email', 'e_mail', 'email_address', 'emailaddress'],
    priority: ['priority'],
    is_high_value: ['is_high_value', 'high_value', 'highvalue'],
    tags: ['tags', 'tag'],
    consent_at: ['consent_at', 'consented_at', 'consent_date', 'consent_time'],
    consent_source: ['consent_source', 'consent_method']
};


const fieldOf = new Map(Object.entries(aliases).flatMap(([field, names]) => names.map((name) => [name, field as Field])));

const headerKey = (header: string) => header.trim().toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '_').replace(/^_|_$/g, '');


interface Columns {
    fields: Partial<Record<Field, number>>;
    custom: Array<[name: string, index: number]>;
}


const mapColumns = (headers: string[]): Columns => {

    const columns: Columns = { fields: {}, custom: [] };
    const names = new Set<string>();

    headers.forEach((header, index) => {

        const field = fieldOf.get(headerKey(header));
        if (field && columns.fields[field] === undefined) {
            columns.fields[field] = index;
            return;
        }

        // A second column of a known name, or any other named column, is kept as a custom field

        let name = header.trim();
        if (!name) {
            return;
        }

        for (let i = 2; names.has(name); ++i) {
            name = `${header.trim()} (${i})`;
        }

        names.add(name);
        columns.custom.push([name, index]);
    });

    if (columns.fields.phone_number === undefined) {
        const found = headers.map((header) => header.trim()).filter(Boolean).slice(0, 10).join(', ');
        throw new ImportError(`The file has no phone number column: name one "phone", "phone_number", "mobile" or "telephone" (found: ${found})`);
    }

    return columns;
};


// Rows

const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const priorityPattern = /^(?:[1-9]|10)$/;
const truthy = new Set(['1', 'true', 'yes', 'y', 't', 'x']);
const falsy = new Set(['', '0', 'false', 'no', 'n', 'f']);
const isoPattern = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?$/;


// A consent time is ISO 8601: a date alone is its midnight, and a time without an offset is UTC,
// so the same file reads the same on every server. Null: not a date.

const consentTime = (value: string) => {

    const match = isoPattern.exec(value);
    if (!match) {
        return null;
    }

    let text = value.replace(' ', 'T');
    if (text.length === 10) {
        text += 'T00:00:00Z';
    }
    else if (!match[1]) {
        text += 'Z';
    }

    // A day that does not exist (2026-02-30) would roll over into the next month

    const time = new Date(text);
    if (Number.isNaN(time.getTime()) || (!match[1] && time.toISOString().slice(0, 10) !== text.slice(0, 10))) {
        return null;
    }

    return time.toISOString();
};


const cell = (values: string[], index: number | undefined) => (index === undefined ? '' : (values[index] ?? '').trim());


const splitTags = (value: string) => (value ? [...new Set(value.split(/[;|,]/).map((tag) => tag.trim()).filter(Boolean))] : []);


const toContact = (values: string[], row: number, columns: Columns, region: CountryCode): Contact | RowError => {

    const { fields } = columns;
    const raw = cell(values, fields.phone_number);
    const phone = normalizePhone(raw, region);
    if ('error' in phone) {
        return { row, error: phone.error, phone: raw || null };
    }

    const email = cell(values, fields.email);
    if (email && !emailPattern.test(email)) {
        return { row, error: 'Invalid email address', phone: raw };
    }

    const priority = cell(values, fields.priority);
    if (priority && !priorityPattern.test(priority)) {
        return { row, error: 'Priority must be a whole number from 1 to 10', phone: raw };
    }

    const highValue = cell(values, fields.is_high_value).toLowerCase();
    if (!truthy.has(highValue) && !falsy.has(highValue)) {
        return { row, error: 'is_high_value must be yes or no', phone: raw };
    }

    const consent = cell(values, fields.consent_at);
    const consentAt = consent ? consentTime(consent) : null;
    if (consent && !consentAt) {
        return { row, error: 'consent_at must be an ISO 8601 date or date and time, such as 2026-12-04T15:00:00Z', phone: raw };
    }

    const consentSource = cell(values, fields.consent_source);
    const custom: Record<string, string> = {};
    for (const [name, index] of columns.custom) {
        const value = cell(values, index);
        if (value) {
            custom[name] = value;
        }
    }

    return {
        row,
        phone_number: phone.e164,
        raw_phone: raw,
        first_name: cell(values, fields.first_name) || null,
        last_name: cell(values, fields.last_name) || null,
        email: email || null,
        country: phone.country,
        timezones: phone.timezones,
        custom_fields: custom,
        priority: priority ? Number(priority) : 5,
        is_high_value: truthy.has(highValue),
        tags: splitTags(cell(values, fields.tags)),
        ...(consentAt ? { consent_at: consentAt } : {}),
        ...(consentSource ? { consent_source: consentSource } : {})
    };
};


// A quote that is never closed makes the parser hold the rest of the file as one field, and
// scan all of it again with every piece that arrives

const maxRecordBytes = 1024 * 1024;


// Streams the file as batches of contacts and per-row errors, in row order. Rows are numbered
// from 1 after the header; blank lines are not rows. Whole-file problems throw an ImportError.

export const readContacts = async function* (input: Readable, options: ReadOptions): AsyncGenerator<ContactBatch> {

    const maxRows = options.maxRows ?? Infinity;
    const batchSize = options.batchSize ?? 5000;
    const chunks = decode(input, options.maxBytes ?? Infinity);

    // Enough of the start to see the header line

    const head: Buffer[] = [];
    let headBytes = 0;
    let seen = false;
    let next = await chunks.next();
    while (!next.done) {
        const chunk = next.value;
        const piece = chunk.toString();
        head.push(chunk);
        headBytes += chunk.length;
        if (headBytes > pieceSize || (seen ? piece.includes('\n') : /\S[^\n]*\n/.test(piece))) {
            break;
        }

        seen ||= /\S/.test(piece);
        next = await chunks.next();
    }

    // The bytes the parser was given since it last completed a row. It is handed one piece at a
    // time, so what it holds is at most a piece or two more than a row.

    let pending = 0;
    const start = Buffer.concat(head);
    const source = async function* () {

        yield start;
        for await (const chunk of chunks) {
            pending += chunk.length;
            if (pending > maxRecordBytes) {
                throw new ImportError('A row is longer than 1 MB: the file probably has a quote that is never closed');
            }

            yield chunk;
        }
    };

    const parser = parse<string[], string[]>({ delimiter: sniffDelimiter(headerLine(start.toString())), headers: false, ignoreEmpty: true }).transform((values: string[]) => {

        pending = 0;
        return values;
    });

    const feeding = pipeline(Readable.from(source(), { highWaterMark: 1 }), parser);
    feeding.catch(() => undefined);                                     // its error also ends the loop below

    let columns: Columns | undefined;
    let row = 0;
    let batch: ContactBatch = { contacts: [], errors: [] };

    try {
        for await (const values of parser) {
            if (!columns) {
                columns = mapColumns(values);
                continue;
            }

            if (++row > maxRows) {
                throw new ImportError(`The file has more than ${maxRows} rows`, 413);
            }

            const parsed = toContact(values, row, columns, options.defaultRegion);
            if ('error' in parsed) {
                batch.errors.push(parsed);
            }
            else {
                batch.contacts.push(parsed);
            }

            if (batch.contacts.length + batch.errors.length >= batchSize) {
                yield batch;
                batch = { contacts: [], errors: [] };
            }
        }

        await feeding;
    }
    catch (err) {
        if (err instanceof ImportError || !/^Parse Error/.test((err as Error).message)) {
            throw err;
        }

        throw new ImportError(`The file is not valid CSV: ${(err as Error).message.slice(0, 200)}`);
    }
    finally {
        chunks.return(undefined).catch(() => undefined);               // the input is released however reading ends
    }

    if (!columns) {
        throw new ImportError('The file is empty');
    }

    if (batch.contacts.length + batch.errors.length) {
        yield batch;
    }
};
