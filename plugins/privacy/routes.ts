import type { Request, ServerRoute } from '@hapi/hapi';

import type { Core } from '../../core/plugin';
import { callerOf, requireOwner } from '../../core/tenancy';
import type { CountryCode } from '../contacts/phone';
import { eraseSubject } from './erase';
import { exportSubject } from './export';
import * as Schemas from './schemas';
import { subjectOf, type SubjectInput } from './subject';


export const routes = (core: Core): ServerRoute[] => {

    const { config, db, providers } = core;

    const subject = (request: Request) => subjectOf(request.payload as SubjectInput, config.defaultPhoneRegion as CountryCode);

    return [
        {
            method: 'POST',
            path: '/privacy/export',
            options: {
                description: 'Export everything held about one person',
                notes: 'Leads (with their campaigns), calls (with provider events), transcripts, recordings\' metadata and do-not-call entries (also those kept as a hash alone) found by number or email; found by email, the other leads of the person\'s numbers too. Recorded in privacy_requests by a hash of the person, never the value.',
                tags: ['api', 'privacy'],
                auth: requireOwner,
                validate: { payload: Schemas.subjectInput },
                response: { schema: Schemas.exported },
                handler: (request) => {

                    const caller = callerOf(request.auth.credentials);
                    return exportSubject(db, caller.tenant_id, subject(request), caller.id);
                }
            }
        },
        {
            method: 'POST',
            path: '/privacy/erase',
            options: {
                description: 'Erase everything held about one person',
                notes: 'Recordings and transcripts are deleted; leads lose their personal fields and are removed, their open jobs cancelled; calls keep their outcomes with the number replaced by the marker `erased`; a do-not-call entry stays, as a hash of the number without its reason. What reaches an erased call afterwards (a late recording, event or turn) goes at the next hourly sweep. 409 while a call with the person is in progress.',
                tags: ['api', 'privacy'],
                auth: requireOwner,
                validate: { payload: Schemas.subjectInput },
                response: { schema: Schemas.erased },
                handler: (request) => {

                    const caller = callerOf(request.auth.credentials);
                    return eraseSubject(db, providers.get('storage'), caller.tenant_id, subject(request), caller.id);
                }
            }
        }
    ];
};
