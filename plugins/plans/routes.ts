import Boom from '@hapi/boom';
import type { ServerRoute } from '@hapi/hapi';
import Joi from 'joi';

import type { Db } from '../../core/db';
import * as Schemas from './schemas';
import * as Plans from './service';


export const routes = (db: Db): ServerRoute[] => [
    {
        method: 'GET',
        path: '/plans',
        options: {
            auth: false,
            description: 'List the plans a business can sign up for',
            tags: ['api', 'plans'],
            response: { schema: Joi.array().items(Schemas.plan).label('Plans') },
            handler: () => Plans.list(db)
        }
    },
    {
        method: 'GET',
        path: '/plans/{plan_id}',
        options: {
            auth: false,
            description: 'Get one plan',
            tags: ['api', 'plans'],
            validate: { params: Joi.object({ plan_id: Schemas.planId.required() }) },
            response: { schema: Schemas.plan },
            handler: async (request) => {

                const { plan_id: id } = request.params as { plan_id: string };
                const plan = await Plans.get(db, id);
                if (!plan) {
                    throw Boom.notFound(`No plan ${id}`);
                }

                return plan;
            }
        }
    }
];
