import Boom from '@hapi/boom';
import type { Server } from '@hapi/hapi';
import Jwt from '@hapi/jwt';

import type { Config } from '../../config';
import type { Db } from '../../core/db';
import type { Clock } from '../../core/plugin';
import * as Keys from './keys';
import { sessionCredentials } from './service';


// Two ways in, tried in order: an API key (`Bearer tk_...`), then a session's access token (a JWT
// whose session id is checked against the sessions table on every request).

const claims = { aud: 'talky', iss: 'talky' };


export const signAccessToken = (config: Config, clock: Clock, sessionId: string, userId: string) => {

    return Jwt.token.generate(
        { ...claims, sub: userId, sid: sessionId },
        { key: config.jwtSecret!, algorithm: 'HS256' },
        { ttlSec: config.sessionTtlSeconds, now: clock.now().getTime() }
    );
};


export const registerStrategies = async (server: Server, { db, clock, config }: { db: Db; clock: Clock; config: Config }) => {

    await server.register(Jwt);

    server.auth.scheme('api-key', () => ({
        authenticate: async (request, h) => {

            const match = /^Bearer\s+(tk_\S*)$/i.exec(String(request.headers.authorization ?? ''));
            if (!match) {
                return h.unauthenticated(Boom.unauthorized(null, 'Bearer'));
            }

            const credentials = Keys.keyPattern.test(match[1]!) ? await Keys.credentials(db, match[1]!, clock) : null;
            if (!credentials) {
                return h.unauthenticated(Boom.unauthorized('Invalid or revoked API key'));
            }

            return h.authenticated({ credentials });
        }
    }));

    server.auth.strategy('api-key', 'api-key');
    server.auth.strategy('jwt', 'jwt', {
        keys: { key: config.jwtSecret, algorithms: ['HS256'] },
        verify: { ...claims, sub: false, nbf: true, exp: true, maxAgeSec: config.sessionTtlSeconds, timeSkewSec: 15 },
        validate: async (artifacts: { decoded: { payload: { sid?: unknown; sub?: unknown } } }) => {

            const { sid, sub } = artifacts.decoded.payload;
            const credentials = typeof sid === 'string' && typeof sub === 'string' ? await sessionCredentials(db, sid, sub, clock) : null;
            return credentials ? { isValid: true, credentials } : { isValid: false };
        }
    });

    server.auth.default({ strategies: ['api-key', 'jwt'] });
};
