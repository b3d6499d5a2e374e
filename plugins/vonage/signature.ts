import Crypto from 'crypto';

import Jwt from '@hapi/jwt';


// Vonage signs each webhook with a JWT (HS256, keyed with the account's signature secret) whose
// payload_hash claim is the hex SHA-256 of the body it was sent with. A GET has no body: the hash
// is then over the JSON of its query parameters, in the order they were sent.

export const payloadHash = (body: Buffer | string) => Crypto.createHash('sha256').update(body).digest('hex');


export const queryBody = (params: URLSearchParams) => JSON.stringify(Object.fromEntries(params));


export interface SignOptions {
    apiKey?: string;
    applicationId?: string;
}


export const signWebhook = (secret: string, body: Buffer | string, options: SignOptions = {}) => {

    const claims = {
        iss: 'Vonage',
        jti: Crypto.randomUUID(),
        payload_hash: payloadHash(body),
        api_key: options.apiKey ?? 'simulator',
        ...(options.applicationId ? { application_id: options.applicationId } : {})
    };

    return Jwt.token.generate(claims, { key: secret, algorithm: 'HS256' });
};


// Returns why the request is not Vonage's, or null when its signature and body agree. The
// signature alone proves nothing about the body: the hash is compared too.

export const signatureProblem = (secret: string, authorization: string | undefined, body: Buffer | string) => {

    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) {
        return 'Missing webhook signature';
    }

    let payload: Record<string, unknown>;
    try {
        const artifacts = Jwt.token.decode(token);
        Jwt.token.verifySignature(artifacts, { key: secret, algorithm: 'HS256' });
        payload = artifacts.decoded.payload as Record<string, unknown>;
    }
    catch {
        return 'Invalid webhook signature';
    }

    const expected = Buffer.from(payloadHash(body));
    const claimed = Buffer.from(typeof payload.payload_hash === 'string' ? payload.payload_hash.toLowerCase() : '');
    if (claimed.length !== expected.length || !Crypto.timingSafeEqual(claimed, expected)) {
        return 'The webhook signature does not match its body';
    }

    return null;
};
