import Inert from '@hapi/inert';
import Vision from '@hapi/vision';
import type { Server } from '@hapi/hapi';
import HapiSwagger from 'hapi-swagger';

import Package from '../package.json';


// The OpenAPI 3 document is built from the routes' own Joi validation and response schemas

export const registerDocs = async (server: Server) => {

    await server.register([
        Inert,
        Vision,
        {
            plugin: HapiSwagger,
            options: {
                OAS: 'v3.0',
                info: {
                    title: 'Talky API',
                    version: Package.version,
                    description: 'Self-hostable AI voice outbound calling. Every error answers `{ "detail": "..." }`.'
                },
                jsonPath: '/api/v1/openapi.json',
                documentationPath: '/docs',
                swaggerUIPath: '/docs/ui/',
                routesBasePath: '/docs/ui/',
                pathPrefixSize: 3,
                basePath: '/',
                grouping: 'tags',
                securityDefinitions: {
                    bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }
                },
                documentationRouteTags: ['docs'],
                validatorUrl: null
            } as unknown as HapiSwagger.RegisterOptions
        }
    ]);
};
