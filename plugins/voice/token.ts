import Crypto from 'crypto';


// Who may attach to a call's voice socket: the address Talky gives the provider carries a token
// made for that call alone (an HMAC of its provider id under a key derived from JWT_SECRET), so
// knowing a call id is not enough to listen in or speak.
//
// The token also carries when the call was answered (when the provider asked for the call's
// instructions), under the same HMAC: the instance serving the socket times the agent's first
// words from the answer, whichever instance took the answer webhook.

const key = (secret: string) => Crypto.createHmac('sha256', secret).update('talky voice socket').digest();

const mac = (secret: string, providerCallId: string, answeredAt: number) => Crypto.createHmac('sha256', key(secret)).update(`${providerCallId}.${answeredAt}`).digest('base64url');


export const voiceToken = (secret: string, providerCallId: string, answeredAt: number) => `${answeredAt}.${mac(secret, providerCallId, answeredAt)}`;


// The answer time (ms since the epoch) of a valid token, or null

export const verifyVoiceToken = (secret: string, providerCallId: string, token: string | null | undefined) => {

    const [at, signature, ...rest] = (token ?? '').split('.');
    if (!at || !/^\d{1,15}$/.test(at) || rest.length) {
        return null;
    }

    const answeredAt = Number(at);
    const expected = Buffer.from(mac(secret, providerCallId, answeredAt));
    const given = Buffer.from(signature ?? '');
    return given.length === expected.length && Crypto.timingSafeEqual(given, expected) ? answeredAt : null;
};
