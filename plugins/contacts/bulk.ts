import { Readable } from 'stream';

import { format } from 'fast-csv';

import type { Db } from '../../core/db';
import { importContacts, type ImportOptions } from './import';


// The legacy JSON import goes through the CSV import, so both read, check and count alike: the
// contacts become CSV rows (custom fields as extra columns) streamed into the same pipeline.

const known = ['phone_number', 'first_name', 'last_name', 'email', 'priority', 'is_high_value', 'tags', 'consent_at', 'consent_source'];


const cell = (value: unknown) => {

    if (value === null || value === undefined) {
        return '';
    }

    if (Array.isArray(value)) {
        return value.join(';');
    }

    return typeof value === 'object' ? JSON.stringify(value) : String(value);
};


export const importJson = (db: Db, contacts: Array<Record<string, unknown>>, options: ImportOptions) => {

    const custom = [...new Set(contacts.flatMap((contact) => Object.keys((contact.custom_fields as object | undefined) ?? {})))].filter((name) => !known.includes(name.toLowerCase()));
    const headers = [...known, ...custom];

    const rows = Readable.from(contacts.map((contact) => {

        const fields = (contact.custom_fields ?? {}) as Record<string, unknown>;
        return [...known.map((name) => cell(contact[name])), ...custom.map((name) => cell(fields[name]))];
    }));

    const csv = rows.pipe(format({ headers, writeHeaders: true }));
    return importContacts(db, csv, options);
};
