import Crypto from 'crypto';


// Secrets handed to users (sign-in links, API keys) are 256 random bits; only their hash is stored

export const newSecret = () => Crypto.randomBytes(32).toString('base64url');

export const hashOf = (secret: string) => Crypto.createHash('sha256').update(secret).digest('hex');
