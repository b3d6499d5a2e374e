import Boom from '@hapi/boom';

import type { Db } from '../../core/db';
import { scoped } from '../../core/tenancy';
import * as Tenants from '../auth/tenants';
import { checkDisclosure, type DisclosureMode } from './disclosure';


export interface Campaign {
    id: string;
    tenant_id: string;
    name: string;
    status: 'draft' | 'running' | 'paused' | 'stopped' | 'completed';
    phone_region: string | null;
    max_concurrent_calls: number;
    [key: string]: unknown;
}


export const columns = [
    'id', 'name', 'description', 'status', 'paused_reason', 'system_prompt', 'voice_id', 'goal', 'client_id', 'phone_region',
    'max_concurrent_calls', 'max_retries', 'retry_delay_seconds', 'script_config', 'calling_config',
    'total_leads', 'calls_completed', 'calls_failed', 'created_at', 'updated_at'
];


const live = (db: Db, tenantId: string) => scoped(db, tenantId)('campaigns').whereNull('deleted_at');


export const list = (db: Db, tenantId: string) => live(db, tenantId).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).select(columns);


export const get = async (db: Db, tenantId: string, id: string): Promise<Campaign> => {

    const campaign = await live(db, tenantId).where({ id }).first(['tenant_id', ...columns]);
    if (!campaign) {
        throw Boom.notFound('Campaign not found');
    }

    return campaign;
};


// The campaign's row, locked for the rest of the transaction: what changes its status begins here

export const lock = async (trx: Db, tenantId: string, id: string): Promise<Pick<Campaign, 'id' | 'status'>> => {

    const campaign = await live(trx, tenantId).where({ id }).forUpdate().first('id', 'status');
    if (!campaign) {
        throw Boom.notFound('Campaign not found');
    }

    return campaign;
};


// Limits that depend on the tenant: its plan's concurrency, and its own clients

const checkInput = async (db: Db, tenantId: string, input: Record<string, unknown>) => {

    const { max_concurrent_calls: planLimit } = await Tenants.limits(db, tenantId);
    if (typeof input.max_concurrent_calls === 'number' && input.max_concurrent_calls > planLimit) {
        throw Boom.badRequest(`"max_concurrent_calls" must be at most ${planLimit} on your plan`);
    }

    if (input.client_id && !await scoped(db, tenantId)('clients').where({ id: input.client_id }).first('id')) {
        throw Boom.badRequest('"client_id" is not one of your clients');
    }

    return planLimit;
};


// The greeting and the voicemail must disclose the AI and the business: the tenant's mode adds a
// sentence or refuses

const disclosed = async (db: Db, tenantId: string, input: Record<string, unknown>) => {

    if (!input.script_config) {
        return { input, warnings: [] as string[] };
    }

    const { disclosure_mode: mode } = await db('tenants').where({ id: tenantId }).first<{ disclosure_mode: DisclosureMode }>('disclosure_mode');
    const { script, warnings } = checkDisclosure(input.script_config as Record<string, unknown>, mode);
    return { input: { ...input, script_config: script }, warnings };
};


// Warnings ride along with the campaign only when there are some

const withWarnings = <T extends object>(campaign: T, warnings: string[]) => (warnings.length ? { ...campaign, warnings } : campaign);


const jsonColumns = (input: Record<string, unknown>) => ({
    ...input,
    ...(input.script_config ? { script_config: JSON.stringify(input.script_config) } : {}),
    ...(input.calling_config ? { calling_config: JSON.stringify(input.calling_config) } : {})
});


export const create = async (db: Db, tenantId: string, given: Record<string, unknown>) => {

    const planLimit = await checkInput(db, tenantId, given);
    const { input, warnings } = await disclosed(db, tenantId, given);
    const [campaign] = await db('campaigns')
        .insert(jsonColumns({ max_concurrent_calls: planLimit, ...input, tenant_id: tenantId, status: 'draft' }))
        .returning(columns);

    return withWarnings(campaign, warnings);
};


// A running campaign is dialling with its settings: pause it before changing them

export const update = async (db: Db, tenantId: string, id: string, given: Record<string, unknown>) => {

    await checkInput(db, tenantId, given);
    const { input, warnings } = await disclosed(db, tenantId, given);
    return await db.transaction(async (trx) => {

        if ((await lock(trx, tenantId, id)).status === 'running') {
            throw Boom.conflict('A running campaign cannot be changed; pause it first');
        }

        const [campaign] = await trx('campaigns').where({ id }).update({ ...jsonColumns(input), updated_at: trx.fn.now() }).returning(columns);
        return withWarnings(campaign, warnings);
    });
};


export const remove = async (db: Db, tenantId: string, id: string) => {

    await db.transaction(async (trx) => {

        if ((await lock(trx, tenantId, id)).status === 'running') {
            throw Boom.conflict('A running campaign cannot be deleted; stop it first');
        }

        await trx('campaigns').where({ id }).update({ deleted_at: trx.fn.now(), updated_at: trx.fn.now() });
    });
};


const clientColumns = ['id', 'name', 'email', 'phone', 'notes', 'created_at', 'updated_at'];


export const listClients = (db: Db, tenantId: string) => scoped(db, tenantId)('clients').orderBy('created_at', 'desc').select(clientColumns);


export const getClient = async (db: Db, tenantId: string, id: string) => {

    const client = await scoped(db, tenantId)('clients').where({ id }).first(clientColumns);
    if (!client) {
        throw Boom.notFound('Client not found');
    }

    return client;
};


export const createClient = async (db: Db, tenantId: string, input: Record<string, unknown>) => {

    const [client] = await db('clients').insert({ ...input, tenant_id: tenantId }).returning(clientColumns);
    return client;
};
