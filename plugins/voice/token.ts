import Crypto from 'crypto';


// Who may attach to a call's voice socket: the address Talky gives the provider carries a token
// made for that call alone (an HMAC of its provider id under a key derived from JWT_SECRET), so
// knowing a call id is not enough to listen in or speak.

const key = (secret: string) => Crypto.createHmac('sha256', secret).update('talky voice socket').digest();


export const voiceToken = (secret: string, providerCallId: string) => Crypto.createHmac('sha256', key(secret)).update(providerCallId).digest('base64url');


export const validVoiceToken = (secret: string, providerCallId: string, token: string | null | undefined) => {

    const expected = Buffer.from(voiceToken(secret, providerCallId));
    const given = Buffer.from(token ?? '');
    return given.length === expected.length && Crypto.timingSafeEqual(given, expected);
};
