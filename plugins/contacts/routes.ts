import type { Readable } from 'stream';

import Boom from '@hapi/boom';
import type { Request, RouteOptionsPayload, ServerRoute } from '@hapi/hapi';

import type { Core } from '../../core/plugin';
import { noContent } from '../../core/schemas';
import { callerOf } from '../../core/tenancy';
import * as Campaigns from '../campaigns/service';
import * as Dnc from './dnc';
import { importJson } from './bulk';
import { ImportError } from './csv';
import { importContacts, requiresConsent } from './import';
import type { CountryCode } from './phone';
import * as Schemas from './schemas';
import * as Contacts from './service';
import { multipartFile } from './upload';


type Params = { campaign_id: string; contact_id: string; phone_number: string };


// A whole-file problem answers its own status (400, 413) with its message as the detail

const asResponse = async <T>(work: Promise<T>) => {

    try {
        return await work;
    }
    catch (err) {
        throw err instanceof ImportError ? Boom.boomify(err, { statusCode: err.statusCode }) : err;
    }
};


export const routes = (core: Core): ServerRoute[] => {

    const { config, db } = core;

    // The campaign must be the caller's; its region reads numbers written without a country code

    const campaignOf = async (request: Request, id = (request.params as Params).campaign_id) => {

        const tenantId = callerOf(request.auth.credentials).tenant_id;
        const campaign = await Campaigns.get(db, tenantId, id);
        return { tenantId, campaign, region: (campaign.phone_region ?? config.defaultPhoneRegion) as CountryCode };
    };

    const importSettings = { maxRows: config.importMaxRows, maxBytes: config.importMaxBytes, maxErrors: config.importMaxErrors };

    const upload: RouteOptionsPayload = {
        output: 'stream',
        parse: false,
        maxBytes: config.importMaxBytes + 1024 * 1024,                 // room for the multipart envelope
        timeout: false
    };

    return [
        {
            method: 'POST',
            path: '/campaigns/{campaign_id}/contacts',
            options: {
                description: 'Add one contact to a campaign',
                notes: 'The number is stored in E.164; 409 if the campaign already has it.',
                tags: ['api', 'contacts'],
                validate: { params: Schemas.campaignParams, payload: Schemas.contact },
                response: { status: { 201: Schemas.lead } },
                handler: async (request, h) => {

                    const { tenantId, campaign, region } = await campaignOf(request);
                    return h.response(await Contacts.add(db, tenantId, campaign.id, region, request.payload as Contacts.NewContact)).code(201);
                }
            }
        },
        {
            method: 'GET',
            path: '/campaigns/{campaign_id}/contacts',
            options: {
                description: 'List a campaign\'s contacts, a page at a time',
                tags: ['api', 'contacts'],
                validate: { params: Schemas.campaignParams, query: Schemas.listQuery },
                response: { schema: Schemas.leadPage },
                handler: async (request) => {

                    const { tenantId, campaign } = await campaignOf(request);
                    return await Contacts.list(db, tenantId, campaign.id, request.query as unknown as Contacts.ListQuery);
                }
            }
        },
        {
            method: 'DELETE',
            path: '/campaigns/{campaign_id}/contacts/{contact_id}',
            options: {
                description: 'Remove a contact from a campaign (status deleted); its number may be added again',
                tags: ['api', 'contacts'],
                validate: { params: Schemas.contactParams },
                response: { status: { 204: noContent } },
                handler: async (request, h) => {

                    const { tenantId, campaign } = await campaignOf(request);
                    await Contacts.remove(db, tenantId, campaign.id, (request.params as Params).contact_id);
                    return h.response().code(204);
                }
            }
        },
        {
            method: 'POST',
            path: '/contacts/campaigns/{campaign_id}/upload',
            options: {
                description: 'Import a campaign\'s contacts from a CSV file (multipart field "file")',
                notes: 'Streams the file; row errors are listed, whole-file problems answer 400 or 413 and import nothing.',
                tags: ['api', 'contacts'],
                payload: upload,
                validate: { params: Schemas.campaignParams, query: Schemas.uploadQuery },
                response: { schema: Schemas.importResult },
                handler: async (request) => {

                    const { tenantId, campaign, region } = await campaignOf(request);
                    const file = await multipartFile(request.payload as Readable, request.raw.req.headers, 'file', config.importMaxBytes);
                    return await asResponse(importContacts(db, file, {
                        ...importSettings,
                        tenantId,
                        campaignId: campaign.id,
                        defaultRegion: region,
                        requireConsent: requiresConsent(campaign),
                        skipDuplicates: (request.query as { skip_duplicates: boolean }).skip_duplicates
                    }));
                }
            }
        },
        {
            method: 'POST',
            path: '/contacts/bulk',
            options: {
                description: 'Import contacts given as JSON (legacy; prefer the CSV upload)',
                tags: ['api', 'contacts'],
                validate: { payload: Schemas.bulk },
                response: { schema: Schemas.importResult },
                handler: async (request) => {

                    const input = request.payload as { campaign_id: string; contacts: Array<Record<string, unknown>>; skip_duplicates: boolean };
                    const { tenantId, campaign, region } = await campaignOf(request, input.campaign_id);
                    return await asResponse(importJson(db, input.contacts, {
                        ...importSettings,
                        tenantId,
                        campaignId: campaign.id,
                        defaultRegion: region,
                        requireConsent: requiresConsent(campaign),
                        skipDuplicates: input.skip_duplicates
                    }));
                }
            }
        },
        {
            method: 'GET',
            path: '/contacts/dnc',
            options: {
                description: 'List the tenant\'s do-not-call numbers',
                tags: ['api', 'dnc'],
                validate: { query: Schemas.pageQuery },
                response: { schema: Schemas.dncPage },
                handler: (request) => {

                    const { page, page_size: pageSize } = request.query as { page: number; page_size: number };
                    return Dnc.list(db, callerOf(request.auth.credentials).tenant_id, page, pageSize);
                }
            }
        },
        {
            method: 'POST',
            path: '/contacts/dnc',
            options: {
                description: 'Put a number on the do-not-call list: it is not dialled in any campaign',
                tags: ['api', 'dnc'],
                validate: { payload: Schemas.dncInput },
                response: { status: { 201: Schemas.dncEntry } },
                handler: async (request, h) => {

                    const input = request.payload as { phone_number: string; reason?: string | null };
                    const phone = Contacts.e164(input.phone_number, config.defaultPhoneRegion as CountryCode);
                    const tenantId = callerOf(request.auth.credentials).tenant_id;
                    await Dnc.add(db, tenantId, [{ phone_number: phone.e164, reason: input.reason ?? null }]);
                    return h.response(await Dnc.entry(db, tenantId, phone.e164)).code(201);
                }
            }
        },
        {
            method: 'POST',
            path: '/contacts/dnc/upload',
            options: {
                description: 'Add the numbers of a CSV file (multipart field "file") to the do-not-call list',
                tags: ['api', 'dnc'],
                payload: upload,
                response: { schema: Schemas.dncUploadResult },
                handler: async (request) => {

                    const file = await multipartFile(request.payload as Readable, request.raw.req.headers, 'file', config.importMaxBytes);
                    return await asResponse(Dnc.importFile(db, callerOf(request.auth.credentials).tenant_id, file, { ...importSettings, defaultRegion: config.defaultPhoneRegion as CountryCode }));
                }
            }
        },
        {
            method: 'DELETE',
            path: '/contacts/dnc/{phone_number}',
            options: {
                description: 'Take a number off the do-not-call list',
                tags: ['api', 'dnc'],
                validate: { params: Schemas.dncParams },
                response: { status: { 204: noContent } },
                handler: async (request, h) => {

                    const phone = Contacts.e164((request.params as Params).phone_number, config.defaultPhoneRegion as CountryCode);
                    await Dnc.remove(db, callerOf(request.auth.credentials).tenant_id, phone.e164);
                    return h.response().code(204);
                }
            }
        }
    ];
};
