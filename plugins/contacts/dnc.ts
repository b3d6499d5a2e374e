import Crypto from 'crypto';
import type { Readable } from 'stream';

import Boom from '@hapi/boom';

import type { Db } from '../../core/db';
import { scoped } from '../../core/tenancy';
import { readContacts, type RowError } from './csv';
import type { CountryCode } from './phone';


// Do-not-call: a number on the list is never dialled in any of the tenant's campaigns. An erased
// person's number stays as its hash only (phone_number NULL): still refused, no longer listed.

// sha256 hex of the E.164 text, as Postgres computes it: encode(sha256(convert_to(n, 'UTF8')), 'hex')

export const phoneHash = (e164: string) => Crypto.createHash('sha256').update(e164, 'utf8').digest('hex');


export const list = async (db: Db, tenantId: string, page: number, pageSize: number) => {

    const [items, [{ total }]] = await Promise.all([
        scoped(db, tenantId)('dnc_numbers').whereNotNull('phone_number').orderBy([{ column: 'created_at', order: 'desc' }, { column: 'phone_number', order: 'asc' }]).limit(pageSize).offset((page - 1) * pageSize).select('phone_number', 'reason', 'created_at'),
        scoped(db, tenantId)('dnc_numbers').whereNotNull('phone_number').count('* as total') as unknown as Promise<[{ total: number }]>
    ]);

    return { items, page, page_size: pageSize, total };
};


export const add = async (db: Db, tenantId: string, numbers: Array<{ phone_number: string; reason?: string | null }>) => {

    if (!numbers.length) {
        return 0;
    }

    return await db.transaction(async (trx) => {

        const added = await trx('dnc_numbers')
            .insert(numbers.map(({ phone_number: phone, reason }) => ({ tenant_id: tenantId, phone_number: phone, phone_hash: phoneHash(phone), reason: reason ?? null })))
            .onConflict(['tenant_id', 'phone_hash'])                 // the key: an erased number added again stays hashed
            .ignore()
            .returning('phone_number');

        await trx('leads')
            .where({ tenant_id: tenantId, status: 'pending' })
            .whereIn('phone_number', numbers.map((number) => number.phone_number))
            .update({ status: 'dnc', updated_at: trx.fn.now() });

        return added.length;
    });
};


// Taking a number off the list leaves its leads as dnc: whoever removes it re-adds them knowingly.
// Found by hash, as an erased person's entry holds no number.

export const remove = async (db: Db, tenantId: string, phone: string) => {

    const count = await scoped(db, tenantId)('dnc_numbers').where({ phone_hash: phoneHash(phone) }).delete();
    if (!count) {
        throw Boom.notFound(`${phone} is not on the do-not-call list`);
    }
};


// The entry of a number just given, by hash too: it names the number it was asked about

export const entry = async (db: Db, tenantId: string, phone: string) => {

    const row = await scoped(db, tenantId)('dnc_numbers').where({ phone_hash: phoneHash(phone) }).first('reason', 'created_at');
    return row && { phone_number: phone, ...row };
};


// A CSV of numbers (any file the contact import reads; only its phone column counts), added in batches

export const importFile = async (db: Db, tenantId: string, input: Readable, options: { defaultRegion: CountryCode; maxRows: number; maxBytes: number; maxErrors: number }) => {

    let total = 0;
    let added = 0;
    let failed = 0;
    const errors: RowError[] = [];

    for await (const batch of readContacts(input, options)) {
        total += batch.contacts.length + batch.errors.length;
        failed += batch.errors.length;
        errors.push(...batch.errors.slice(0, Math.max(0, options.maxErrors - errors.length)));
        added += await add(db, tenantId, batch.contacts.map((contact) => ({ phone_number: contact.phone_number, reason: 'imported' })));
    }

    return { total_rows: total, added, failed, errors };
};


// A stop request made on a call (a key or the person's words): the number goes on the list with
// the call it came from, replacing an older entry's reason, and its pending leads (and the one on
// the call) become dnc

export const optOut = async (db: Db, tenantId: string, request: { phone_number: string; reason: string; call_id: string | null }) => {

    await db.transaction(async (trx) => {

        await trx('dnc_numbers')
            .insert({ tenant_id: tenantId, phone_number: request.phone_number, phone_hash: phoneHash(request.phone_number), reason: request.reason, call_id: request.call_id })
            .onConflict(['tenant_id', 'phone_hash'])
            .merge(['reason', 'call_id']);

        await trx('leads')
            .where({ tenant_id: tenantId, phone_number: request.phone_number })
            .whereIn('status', ['pending', 'calling'])                      // the call it came from: its end keeps dnc
            .update({ status: 'dnc', updated_at: trx.fn.now() });
    });
};
