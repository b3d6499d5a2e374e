import Fs from 'fs';
import Os from 'os';
import Path from 'path';

import Code from '@hapi/code';
import Lab from '@hapi/lab';

import { ConfigError, load, settings } from '../config';


const { describe, it } = exports.lab = Lab.script();
const { expect } = Code;


const problems = (env: Record<string, string>) => {

    try {
        load(env);
    }
    catch (err) {
        expect(err).to.be.an.instanceof(ConfigError);
        return (err as ConfigError).problems;
    }

    throw new Error('load() accepted the environment');
};


const tempFile = (content: string) => {

    const path = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), 'talky-config-')), 'talky.json');
    Fs.writeFileSync(path, content);
    return path;
};


describe('config', () => {

    it('has defaults for a local run', () => {

        const config = load({});
        expect(config.port).to.equal(3000);
        expect(config.host).to.equal('0.0.0.0');
        expect(config.databaseUrl).to.equal('postgres://127.0.0.1:5432/talky');
        expect(config.redisUrl).to.equal('redis://127.0.0.1:6379');
        expect(config.role).to.equal('all');
        expect(config.publicUrl).to.equal('http://localhost:3000');
        expect(config.appUrl).to.equal('http://localhost:3000');
        expect(config.corsOrigins).to.equal(['http://localhost:3000']);
        expect(config.telephonyProvider).to.equal('simulator');
        expect(config.mailTransport).to.equal('file');
        expect(config.migrateOnStart).to.be.true();
        expect(config.plugins).to.equal([]);
        expect(config.jwtSecret).to.have.length(43);
    });

    it('reads and converts the environment', () => {

        const config = load({
            PORT: '8080',
            TALKY_ROLE: 'worker',
            PUBLIC_URL: 'https://talky.example.com',
            TALKY_PLUGINS: 'talky-twilio, ./local/plugin ,',
            MIGRATE_ON_START: 'off',
            JWT_SECRET: 'x'.repeat(32),
            HOST: ' '
        });

        expect(config.port).to.equal(8080);
        expect(config.role).to.equal('worker');
        expect(config.appUrl).to.equal('https://talky.example.com');
        expect(config.plugins).to.equal(['talky-twilio', './local/plugin']);
        expect(config.migrateOnStart).to.be.false();
        expect(config.jwtSecret).to.equal('x'.repeat(32));
        expect(config.host).to.equal('0.0.0.0');
    });

    it('is frozen', () => {

        const config = load({});
        expect(Object.isFrozen(config)).to.be.true();
        expect(Object.isFrozen(config.plugins)).to.be.true();
        expect(() => {

            (config as { port: number }).port = 1;
        }).to.throw(TypeError);
    });

    it('names every variable that is wrong and what is wrong with it', () => {

        expect(problems({ PORT: 'abc' })).to.equal(['PORT must be a number']);
        expect(problems({ PORT: '70000', TALKY_ROLE: 'boss', DATABASE_URL: 'mysql://x/y' })).to.equal([
            'TALKY_ROLE must be one of [all, api, worker]',
            'PORT must be less than or equal to 65535',
            'DATABASE_URL must be a valid uri with a scheme matching the postgres|postgresql pattern'
        ]);
        expect(problems({ TELEPHONY_PROVIDER: 'Bad Name' })).to.equal(['TELEPHONY_PROVIDER must be a provider name (lowercase letters, digits, dashes)']);
        expect(problems({ JWT_SECRET: 'short' })).to.equal(['JWT_SECRET length must be at least 32 characters long']);
    });

    it('requires a JWT secret in production', () => {

        expect(problems({ NODE_ENV: 'production' })).to.equal(['JWT_SECRET is required']);
    });

    it('reads an optional JSON file, under the environment', () => {

        const file = tempFile(JSON.stringify({ PORT: 4000, LOG_LEVEL: 'debug', TALKY_PLUGINS: ['a'] }));
        const config = load({ TALKY_CONFIG: file, LOG_LEVEL: 'warn' });
        expect(config.port).to.equal(4000);
        expect(config.logLevel).to.equal('warn');
        expect(config.plugins).to.equal(['a']);
    });

    it('refuses a config file that is missing, not an object or names unknown settings', () => {

        expect(problems({ TALKY_CONFIG: '/nonexistent/talky.json' })[0]).to.startWith('TALKY_CONFIG file /nonexistent/talky.json cannot be read');
        const list = tempFile('[1]');
        expect(problems({ TALKY_CONFIG: list })).to.equal([`TALKY_CONFIG file ${list} must hold a JSON object of settings`]);
        const unknown = tempFile('{"PORTS": 1}');
        expect(problems({ TALKY_CONFIG: unknown })).to.equal([`TALKY_CONFIG file ${unknown} has an unknown setting PORTS`]);
    });

    it('is documented in the README, every setting', () => {

        const readme = Fs.readFileSync(Path.join(__dirname, '..', 'README.md'), 'utf8');
        const missing = Object.values(settings).map(({ env }) => env).filter((env) => !readme.includes(`| \`${env}\` |`));
        expect(missing).to.equal([]);
    });
});
