import type { Request, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';

import type { Core } from '../../core/plugin';
import { callerOf } from '../../core/tenancy';
import type { CountryCode } from '../contacts/phone';
import * as Download from './download';
import * as Schemas from './schemas';
import * as Calls from './service';


type Params = { call_id: string; recording_id: string };


const tenantOf = (request: Request) => callerOf(request.auth.credentials).tenant_id;


export const callRoutes = (core: Core): ServerRoute[] => {

    const { config, db } = core;

    return [
        {
            method: 'GET',
            path: '/calls',
            options: {
                description: 'List calls, newest first, a page at a time',
                notes: 'Filters: campaign_id, outcome, status, phone (any format; matched in E.164), and from (included) to (excluded) on created_at.',
                tags: ['api', 'calls'],
                validate: { query: Schemas.callsQuery },
                response: { schema: Schemas.callPage },
                handler: (request) => Calls.listCalls(db, tenantOf(request), request.query as unknown as Calls.CallsQuery, config.defaultPhoneRegion as CountryCode)
            }
        },
        {
            method: 'GET',
            path: '/calls/{call_id}',
            options: {
                description: 'Get a call with its lead, campaign, recordings, provider events and reply latency',
                tags: ['api', 'calls'],
                validate: { params: Schemas.callParams },
                response: { schema: Schemas.callDetail },
                handler: (request) => Calls.getCall(db, tenantOf(request), (request.params as Params).call_id)
            }
        },
        {
            method: 'GET',
            path: '/calls/{call_id}/transcript',
            options: {
                description: 'Get a call\'s conversation, turn by turn, with the latency of each agent reply',
                tags: ['api', 'calls'],
                validate: { params: Schemas.callParams },
                response: { schema: Schemas.transcript },
                handler: (request) => Calls.transcript(db, tenantOf(request), (request.params as Params).call_id)
            }
        }
    ];
};


// The audio is streamed, so hapi has no object to validate: the docs name what it sends

const audio = {
    produces: ['audio/wav', 'audio/mpeg', 'application/octet-stream'],
    responses: {
        200: { description: 'The whole recording', schema: Joi.binary() },
        206: { description: 'The range of bytes asked for, with Content-Range', schema: Joi.binary() },
        416: { description: 'The range starts past the end; Content-Range: bytes */size' }
    }
};


export const recordingRoutes = (core: Core): ServerRoute[] => {

    const { db, providers } = core;

    return [
        {
            method: 'GET',
            path: '/recordings',
            options: {
                description: 'List call recordings, newest first, a page at a time',
                notes: 'Filters: call_id, campaign_id, and from (included) to (excluded) on created_at.',
                tags: ['api', 'recordings'],
                validate: { query: Schemas.recordingsQuery },
                response: { schema: Schemas.recordingPage },
                handler: (request) => Calls.listRecordings(db, tenantOf(request), request.query as unknown as Calls.RecordingsQuery)
            }
        },
        {
            method: 'GET',
            path: '/recordings/{recording_id}',
            options: {
                description: 'Get a recording',
                tags: ['api', 'recordings'],
                validate: { params: Schemas.recordingParams },
                response: { schema: Schemas.recording },
                handler: (request) => Calls.getRecording(db, tenantOf(request), (request.params as Params).recording_id)
            }
        },
        {
            method: 'GET',
            path: '/recordings/{recording_id}/download',
            options: {
                description: 'Download a recording\'s audio',
                notes: 'Honours one Range (bytes=a-b, bytes=a-, bytes=-n) with 206, read from storage; several ranges are ignored.',
                tags: ['api', 'recordings'],
                plugins: { 'hapi-swagger': audio },
                validate: { params: Schemas.recordingParams },
                response: { status: { 200: true, 206: true }, ranges: false },
                handler: async (request, h) => {

                    const file = await Calls.recordingFile(db, tenantOf(request), (request.params as Params).recording_id);
                    const download = await Download.open(providers.get('storage'), file, request.headers);
                    const response = h.response(download.body).code(download.status);
                    for (const [name, value] of Object.entries(download.headers)) {
                        response.header(name, value);
                    }

                    return response;
                }
            }
        }
    ];
};
