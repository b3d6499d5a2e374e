import Boom from '@hapi/boom';

import type { Db } from '../../core/db';
import { scoped } from '../../core/tenancy';
import { phoneHash } from './dnc';
import { normalizePhone, type CountryCode } from './phone';


export const leadColumns = [
    'id', 'campaign_id', 'phone_number', 'first_name', 'last_name', 'email', 'country', 'timezones', 'custom_fields',
    'priority', 'is_high_value', 'tags', 'consent_at', 'consent_source', 'status', 'last_call_result', 'last_called_at', 'call_attempts', 'created_at', 'updated_at'
];


const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';


export const e164 = (raw: string, region: CountryCode) => {

    const phone = normalizePhone(raw, region);
    if ('error' in phone) {
        throw Boom.badRequest(phone.error);
    }

    return phone;
};


export interface NewContact {
    phone_number: string;
    first_name?: string | null;
    last_name?: string | null;
    email?: string | null;
    custom_fields?: Record<string, unknown>;
    priority?: number;
    is_high_value?: boolean;
    tags?: string[];
}


// A number on the tenant's do-not-call list is kept, as status dnc, so the list shows why it is not dialled

export const add = async (db: Db, tenantId: string, campaignId: string, region: CountryCode, input: NewContact) => {

    const phone = e164(input.phone_number, region);
    const onDnc = await db('dnc_numbers').where({ tenant_id: tenantId, phone_hash: phoneHash(phone.e164) }).first('phone_hash');

    try {
        const [lead] = await db('leads')
            .insert({
                ...input,
                custom_fields: JSON.stringify(input.custom_fields ?? {}),
                tags: input.tags ?? [],
                tenant_id: tenantId,
                campaign_id: campaignId,
                phone_number: phone.e164,
                country: phone.country,
                timezones: [...phone.timezones],
                status: onDnc ? 'dnc' : 'pending'
            })
            .returning(leadColumns);

        return lead;
    }
    catch (err) {
        throw isUniqueViolation(err) ? Boom.conflict(`${phone.e164} is already in this campaign`) : err;
    }
};


export interface ListQuery {
    page: number;
    page_size: number;
    status?: string;
    last_call_result?: string;
}


export const list = async (db: Db, tenantId: string, campaignId: string, query: ListQuery) => {

    const filtered = scoped(db, tenantId)('leads')
        .where({ campaign_id: campaignId })
        .modify((builder) => {

            if (query.status) {
                builder.where({ status: query.status });
            }
            else {
                builder.whereNot({ status: 'deleted' });
            }

            if (query.last_call_result) {
                builder.where({ last_call_result: query.last_call_result });
            }
        });

    const [items, [{ total }]] = await Promise.all([
        filtered.clone().orderBy([{ column: 'created_at', order: 'asc' }, { column: 'id', order: 'asc' }]).limit(query.page_size).offset((query.page - 1) * query.page_size).select(leadColumns),
        filtered.clone().count('* as total') as unknown as Promise<[{ total: number }]>
    ]);

    return { items, page: query.page, page_size: query.page_size, total };
};


export const remove = async (db: Db, tenantId: string, campaignId: string, leadId: string) => {

    const count = await scoped(db, tenantId)('leads')
        .where({ campaign_id: campaignId, id: leadId })
        .whereNot({ status: 'deleted' })
        .update({ status: 'deleted', updated_at: db.fn.now() });

    if (!count) {
        throw Boom.notFound('Contact not found');
    }
};
