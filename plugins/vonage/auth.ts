import { Auth } from '@vonage/auth';
import { tokenGenerate } from '@vonage/jwt';


// Every request to Vonage carries a JWT signed RS256 with the application's private key. The SDK
// signs a new one per request, about a millisecond of the event loop each; a campaign's calls end
// together and their hang-ups would stall the audio of every other call. One token serves all
// requests for a minute of its fifteen-minute life, and is signed again long before it expires.

const lifeSeconds = 15 * 60;
const reuseMs = 60_000;


export class ApplicationAuth extends Auth {

    #token = '';
    #signedAt = -Infinity;

    constructor(applicationId: string, privateKey: string, private readonly now = Date.now) {

        super({ applicationId, privateKey });
    }

    token() {

        const now = this.now();
        if (now - this.#signedAt >= reuseMs) {
            this.#token = tokenGenerate(this.applicationId!, this.privateKey!, { ttl: lifeSeconds });
            this.#signedAt = now;
        }

        return this.#token;
    }

    override createBearerHeader = () => Promise.resolve(`Bearer ${this.token()}`);
}
