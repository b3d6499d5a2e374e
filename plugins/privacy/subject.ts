import Crypto from 'crypto';

import Boom from '@hapi/boom';

import type { Db } from '../../core/db';
import { normalizePhone, type CountryCode } from '../contacts/phone';


// The person a request is about, as Talky holds them: a number in E.164 (read as a contact's
// would be), an email lowercased, and the leads, numbers and calls these lead to

export interface SubjectInput {
    phone_number?: string;
    email?: string;
}

export interface Subject {
    phone?: string;
    email?: string;
    hash: string;                   // names the person in privacy_requests, never the raw value
}


export const sha256 = (text: string) => Crypto.createHash('sha256').update(text, 'utf8').digest('hex');


export const subjectOf = (input: SubjectInput, region: CountryCode): Subject => {

    let phone: string | undefined;
    if (input.phone_number !== undefined) {
        const normalized = normalizePhone(input.phone_number, region);
        if ('error' in normalized) {
            throw Boom.badRequest(`"phone_number" must be a phone number (${normalized.error})`);
        }

        phone = normalized.e164;
    }

    const email = input.email?.trim().toLowerCase();
    return { phone, email, hash: sha256([phone, email].filter(Boolean).join('\n')) };
};


// What is about the person: leads by number or email; every number those leads have, and the
// other leads with one of those numbers (the number is the person's, as the calls to it are);
// calls to those numbers or of those leads

export interface Holdings {
    leadIds: string[];
    numbers: string[];
    callIds: string[];
}


export const holdingsOf = async (db: Db, tenantId: string, subject: Subject): Promise<Holdings> => {

    const found: Array<{ id: string; phone_number: string }> = await db('leads')
        .where({ tenant_id: tenantId })
        .where((builder) => {

            if (subject.phone) {
                builder.orWhere('phone_number', subject.phone);
            }

            if (subject.email) {
                builder.orWhereRaw('lower(email) = ?', [subject.email]);
            }
        })
        .select('id', 'phone_number');

    const numbers = [...new Set([...(subject.phone ? [subject.phone] : []), ...found.map((lead) => lead.phone_number)])];
    const sameNumber: Array<{ id: string }> = await db('leads').where({ tenant_id: tenantId }).whereIn('phone_number', numbers).select('id');
    const leadIds = [...new Set([...found, ...sameNumber].map((lead) => lead.id))];
    const calls: Array<{ id: string }> = await db('calls')
        .where({ tenant_id: tenantId })
        .where((builder) => void builder.whereIn('to_number', numbers).orWhereIn('lead_id', leadIds))
        .select('id');

    return { leadIds, numbers, callIds: calls.map((call) => call.id) };
};


// One row per request, written by the request's own transaction

export const recordRequest = async (db: Db, tenantId: string, kind: 'export' | 'erase', subject: Subject, requestedBy: string | null, counts: Record<string, number>) => {

    await db('privacy_requests').insert({ tenant_id: tenantId, kind, subject_hash: subject.hash, requested_by: requestedBy, counts: JSON.stringify(counts) });
};
