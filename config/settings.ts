import Joi from 'joi';


// Every setting Talky reads, in one table: the Joi schema validates it, the description documents
// it (the README's settings table is checked against this list by the tests).

export interface Setting<T = unknown> {
    readonly env: string;
    readonly schema: Joi.Schema<T>;
    readonly description: string;
}


const setting = <T>(env: string, schema: Joi.Schema, description: string): Setting<T> => ({ env, schema: schema as Joi.Schema<T>, description });

const port = Joi.number().integer().min(0).max(65535);
const flag = Joi.boolean().truthy('1', 'yes', 'on').falsy('0', 'no', 'off');
const slot = Joi.string().pattern(/^[a-z][a-z0-9-]*$/).message('{{#label}} must be a provider name (lowercase letters, digits, dashes)');
const list = Joi.array().items(Joi.string().trim().min(1)).single();
const level = Joi.string().valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent');


export const settings = {
    nodeEnv: setting<'development' | 'production' | 'test'>('NODE_ENV', Joi.string().valid('development', 'production', 'test').default('development'), 'Run mode. `production` makes secrets such as `JWT_SECRET` mandatory.'),
    configFile: setting<string | undefined>('TALKY_CONFIG', Joi.string(), 'Optional JSON file of settings (same names as here); the environment wins over the file.'),
    role: setting<'all' | 'api' | 'worker'>('TALKY_ROLE', Joi.string().valid('all', 'api', 'worker').default('all'), '`all` serves the API and runs the workers in one process; `api` serves HTTP and sockets only; `worker` runs queue consumers and answers only health checks.'),
    host: setting<string>('HOST', Joi.string().hostname().default('0.0.0.0'), 'Interface the HTTP listener binds.'),
    port: setting<number>('PORT', port.default(3000), 'HTTP port.'),
    publicUrl: setting<string>('PUBLIC_URL', Joi.string().uri({ scheme: ['http', 'https'] }).default((parent: Record<string, unknown>) => `http://localhost:${parent.port}`), 'Address at which providers reach this server (webhooks, voice sockets). Default `http://localhost:$PORT`.'),
    appUrl: setting<string>('APP_URL', Joi.string().uri({ scheme: ['http', 'https'] }).default((parent: Record<string, unknown>) => parent.publicUrl), 'Address of the web frontend, used in links sent by mail. Default `PUBLIC_URL`.'),
    corsOrigins: setting<string[]>('CORS_ORIGINS', list.default((parent: Record<string, unknown>) => (URL.canParse(String(parent.appUrl)) ? [new URL(String(parent.appUrl)).origin] : [])), 'Comma-separated origins allowed by CORS. Default the origin of `APP_URL`.'),
    databaseUrl: setting<string>('DATABASE_URL', Joi.string().uri({ scheme: ['postgres', 'postgresql'] }).default('postgres://127.0.0.1:5432/talky'), 'PostgreSQL connection string; the database is created when missing.'),
    databasePoolMax: setting<number>('DATABASE_POOL_MAX', Joi.number().integer().min(1).max(1000).default(10), 'Largest number of PostgreSQL connections one process holds.'),
    migrateOnStart: setting<boolean>('MIGRATE_ON_START', flag.default(true), 'Create the database and run pending migrations when the server starts. Turn off to run `npm run talky -- migrate` yourself.'),
    redisUrl: setting<string>('REDIS_URL', Joi.string().uri({ scheme: ['redis', 'rediss'] }).default('redis://127.0.0.1:6379'), 'Redis connection string (queues, counters, pub/sub).'),
    redisPrefix: setting<string>('REDIS_PREFIX', Joi.string().pattern(/^[\w.-]+$/).max(64).default('talky'), 'Prefix of every Redis key this install writes, so several installs can share one Redis.'),
    jwtSecret: setting<string | undefined>('JWT_SECRET', Joi.string().min(32).when('nodeEnv', { is: 'production', then: Joi.required() }), 'Secret that signs access tokens, at least 32 characters. Required in production; elsewhere a random one is made at each start.'),
    logLevel: setting<'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'>('LOG_LEVEL', level.default('info'), 'One of fatal, error, warn, info, debug, trace, silent.'),
    plugins: setting<string[]>('TALKY_PLUGINS', list.default([]), 'Comma-separated extra plugin modules (npm package names or paths), loaded after the built-in ones.'),
    disabledPlugins: setting<string[]>('TALKY_DISABLED_PLUGINS', list.default([]), 'Comma-separated names of built-in plugins not to load.'),
    shutdownTimeoutMs: setting<number>('SHUTDOWN_TIMEOUT_MS', Joi.number().integer().min(0).default(10000), 'How long a stopping process waits for in-flight requests and jobs before it closes them.'),
    healthTimeoutMs: setting<number>('HEALTH_TIMEOUT_MS', Joi.number().integer().min(50).default(2000), 'How long each health check waits for PostgreSQL or Redis before it reports them down.'),
    responseValidation: setting<'off' | 'log' | 'error'>('RESPONSE_VALIDATION', Joi.string().valid('off', 'log', 'error').default('off'), 'Check responses against their documented schemas: `off`, `log` a mismatch, or answer it with an `error` (the tests do).'),
    trustProxy: setting<boolean>('TRUST_PROXY', flag.default(false), 'Take the client address from `X-Forwarded-For` (set it behind a reverse proxy), for rate limits and logs.'),
    sessionTtlSeconds: setting<number>('SESSION_TTL_SECONDS', Joi.number().integer().min(60).default(7 * 24 * 3600), 'How long a sign-in lasts; the access token expires with it.'),
    magicLinkTtlMinutes: setting<number>('MAGIC_LINK_TTL_MINUTES', Joi.number().integer().min(1).max(24 * 60).default(15), 'How long a sign-in link stays valid. Each link works once, and a newer link cancels the older ones.'),
    adminEmails: setting<string[]>('ADMIN_EMAILS', Joi.array().items(Joi.string().email({ tlds: { allow: false } }).lowercase()).single().default([]), 'Comma-separated emails that get the platform `admin` role when they register or sign in: how a self-hosted install makes its first admin.'),
    authRateLimitPerIp: setting<number>('AUTH_RATE_LIMIT_PER_IP', Joi.number().integer().min(1).default(30), 'Register, login and verify requests allowed per client address in each window.'),
    authRateLimitPerEmail: setting<number>('AUTH_RATE_LIMIT_PER_EMAIL', Joi.number().integer().min(1).default(5), 'Register and login requests allowed per email address in each window.'),
    authRateLimitWindowSeconds: setting<number>('AUTH_RATE_LIMIT_WINDOW_SECONDS', Joi.number().integer().min(1).default(900), 'Length of the rate-limit window.'),
    mailFrom: setting<string>('MAIL_FROM', Joi.string().default('Talky <no-reply@localhost>'), 'Sender of the mail Talky sends.'),
    mailDir: setting<string>('MAIL_DIR', Joi.string().default('data/mail'), 'Folder of the `file` mailer: one .eml file per message, so the sign-in link can be opened without a mail server.'),
    smtpUrl: setting<string>('SMTP_URL', Joi.string().uri({ scheme: ['smtp', 'smtps'] }).default('smtp://127.0.0.1:587'), 'Mail server of the `smtp` mailer, e.g. `smtps://user:pass@smtp.example.com:465`.'),
    defaultPhoneRegion: setting<string>('DEFAULT_PHONE_REGION', Joi.string().uppercase().pattern(/^[A-Z]{2}$/).message('{{#label}} must be a two-letter country code').default('US'), 'Country assumed for phone numbers written without a country code, unless the campaign names its own.'),
    importMaxBytes: setting<number>('IMPORT_MAX_BYTES', Joi.number().integer().min(1024).default(200 * 1024 * 1024), 'Largest contact file accepted, in bytes; a larger upload answers 413 and imports nothing.'),
    importMaxRows: setting<number>('IMPORT_MAX_ROWS', Joi.number().integer().min(1).default(1_000_000), 'Most data rows in one contact file; a longer file answers 413 and imports nothing.'),
    importMaxErrors: setting<number>('IMPORT_MAX_ERRORS', Joi.number().integer().min(0).default(100), 'Most row errors listed in an import\'s answer; the counts stay exact beyond it.'),
    telephonyProvider: setting<string>('TELEPHONY_PROVIDER', slot.default('simulator'), 'Telephony slot: `simulator` (a local Vonage stand-in) or `vonage`.'),
    storageBackend: setting<string>('STORAGE_BACKEND', slot.default('local'), 'Storage slot for recordings: `local` (a folder) or `s3`.'),
    mailTransport: setting<string>('MAIL_TRANSPORT', slot.default('file'), 'Mailer slot: `file` (one .eml per message in `MAIL_DIR`) or `smtp`.'),
    sttProvider: setting<string>('STT_PROVIDER', slot.default('pocketsphinx'), 'Speech-to-text slot: `deepgram` or `pocketsphinx` (offline, Debian\'s pocketsphinx).'),
    llmProvider: setting<string>('LLM_PROVIDER', slot.default('scripted'), 'LLM slot: `openai` (any OpenAI-compatible endpoint) or `scripted` (offline: walks the campaign\'s script).'),
    ttsProvider: setting<string>('TTS_PROVIDER', slot.default('espeak'), 'Text-to-speech slot: `cartesia`, `elevenlabs` or `espeak` (offline, Debian\'s espeak-ng).'),
    telephonyMaxCps: setting<number>('TELEPHONY_MAX_CPS', Joi.number().positive().max(10000).default(3), 'New calls per second the dialer asks of the telephony provider, across every worker (Vonage allows 3 per account unless raised).'),
    dialerConcurrency: setting<number>('DIALER_CONCURRENCY', Joi.number().integer().min(1).max(10000).default(200), 'Dial jobs one worker process holds at once per queue (waiting for a slot or dialling); above the largest campaign\'s `max_concurrent_calls`.'),
    dialerSlotLeaseSeconds: setting<number>('DIALER_SLOT_LEASE_SECONDS', Joi.number().integer().min(10).default(300), 'How long a concurrency slot stays taken without news of its call; a dead worker\'s slots come back after it, and live calls renew theirs.'),
    dialerReconcileSeconds: setting<number>('DIALER_RECONCILE_SECONDS', Joi.number().integer().min(1).default(30), 'How often the reconciler re-enqueues jobs Redis lost and settles calls stuck without a final event.'),
    dialerStuckCallMinutes: setting<number>('DIALER_STUCK_CALL_MINUTES', Joi.number().integer().min(1).default(180), 'A call with no event for this long is asked about at the provider, and settled as failed if it cannot say.'),
    vonageApplicationId: setting<string | undefined>('VONAGE_APPLICATION_ID', Joi.string().trim().when('telephonyProvider', { is: 'vonage', then: Joi.required() }), 'Vonage application id (required with `TELEPHONY_PROVIDER=vonage`).'),
    vonagePrivateKey: setting<string | undefined>('VONAGE_PRIVATE_KEY', Joi.string().when('telephonyProvider', { is: 'vonage', then: Joi.required() }), 'The application\'s private key: the PEM text itself or the path of a file holding it (required with `TELEPHONY_PROVIDER=vonage`).'),
    vonageSignatureSecret: setting<string | undefined>('VONAGE_SIGNATURE_SECRET', Joi.string().min(16).when('nodeEnv', { is: 'production', then: Joi.when('telephonyProvider', { is: 'vonage', then: Joi.required() }) }), 'Account signature secret: webhooks without a valid signature over their body answer 401. Required in production with `vonage`; unset, webhooks are not checked.'),
    vonageFromNumber: setting<string | undefined>('VONAGE_FROM_NUMBER', Joi.string().trim().pattern(/^\+?[1-9]\d{6,14}$/).message('{{#label}} must be a phone number in E.164').when('telephonyProvider', { is: 'vonage', then: Joi.required() }), 'Caller id of outbound calls: a number of your Vonage account that can take do-not-call requests.'),
    vonageApiHost: setting<string>('VONAGE_API_HOST', Joi.string().uri({ scheme: ['http', 'https'] }).default('https://api.nexmo.com'), 'Base address of the Vonage Voice API.'),
    simulatorSeed: setting<number>('SIMULATOR_SEED', Joi.number().integer().min(0).default(1), 'Seed of the simulator\'s random draws, so a rehearsal can be repeated.'),
    simulatorTimeScale: setting<number>('SIMULATOR_TIME_SCALE', Joi.number().positive().max(100).default(1), 'Speed of the simulator\'s clock: 1 is real time, 0.01 a hundred times faster (ring and talk times shrink, its calls-per-second limit grows).'),
    simulatorOutcomes: setting<string>('SIMULATOR_OUTCOMES', Joi.string().pattern(/^\s*[a-z_]+:\s*(\d+(\.\d*)?|\.\d+)\s*(,\s*[a-z_]+:\s*(\d+(\.\d*)?|\.\d+)\s*)*$/).message('{{#label}} must be a list such as answered:0.6,busy:0.1,no_answer:0.2').default('answered:0.6,busy:0.1,no_answer:0.2,voicemail:0.05,failed:0.03,rejected:0.02'), 'How the simulator\'s calls end, as weights: `answered`, `busy`, `no_answer`, `voicemail`, `failed`, `rejected`.'),
    simulatorVoice: setting<boolean>('SIMULATOR_VOICE', flag.default(false), 'Whether the simulator opens the voice socket for answered calls and streams audio into it, as Vonage does.'),
    simulatorPersona: setting<string>('SIMULATOR_PERSONA', Joi.string().allow('').default('who is this|how much does it cost|!sorry, can I ask something else|yes I am interested'), 'What the simulated person says on voice calls (with `SIMULATOR_VOICE` on, best at `SIMULATOR_TIME_SCALE=1`): lines separated by `|`, each said when the agent falls silent; a line starting with `!` is said over the agent (a barge-in). Spoken by espeak-ng; empty for silence.'),
    deepgramApiKey: setting<string | undefined>('DEEPGRAM_API_KEY', Joi.string().when('sttProvider', { is: 'deepgram', then: Joi.required() }), 'Deepgram API key (required with `STT_PROVIDER=deepgram`).'),
    deepgramUrl: setting<string>('DEEPGRAM_URL', Joi.string().uri({ scheme: ['ws', 'wss'] }).default('wss://api.deepgram.com/v1/listen'), 'Deepgram live transcription endpoint.'),
    deepgramModel: setting<string>('DEEPGRAM_MODEL', Joi.string().default('nova-3'), 'Deepgram model.'),
    openaiApiKey: setting<string | undefined>('OPENAI_API_KEY', Joi.string().when('llmProvider', { is: 'openai', then: Joi.when('openaiBaseUrl', { is: 'https://api.openai.com/v1', then: Joi.required() }) }), 'API key of the OpenAI-compatible endpoint (required for OpenAI itself; local servers such as Ollama need none).'),
    openaiBaseUrl: setting<string>('OPENAI_BASE_URL', Joi.string().uri({ scheme: ['http', 'https'] }).default('https://api.openai.com/v1'), 'Base address of the OpenAI-compatible endpoint: OpenAI, `https://api.groq.com/openai/v1`, Ollama\'s `http://localhost:11434/v1`, vLLM...'),
    llmModel: setting<string>('LLM_MODEL', Joi.string().default('gpt-4o-mini'), 'Model name passed to the OpenAI-compatible endpoint.'),
    llmTimeoutSeconds: setting<number>('LLM_TIMEOUT_SECONDS', Joi.number().positive().default(10), 'Longest wait for the LLM\'s first token before the agent apologises and the call degrades.'),
    cartesiaApiKey: setting<string | undefined>('CARTESIA_API_KEY', Joi.string().when('ttsProvider', { is: 'cartesia', then: Joi.required() }), 'Cartesia API key (required with `TTS_PROVIDER=cartesia`).'),
    cartesiaUrl: setting<string>('CARTESIA_URL', Joi.string().uri({ scheme: ['ws', 'wss'] }).default('wss://api.cartesia.ai/tts/websocket'), 'Cartesia TTS WebSocket endpoint.'),
    cartesiaModel: setting<string>('CARTESIA_MODEL', Joi.string().default('sonic-3.5'), 'Cartesia model id.'),
    cartesiaVersion: setting<string>('CARTESIA_VERSION', Joi.string().default('2026-03-01'), 'Cartesia API version header.'),
    cartesiaVoiceId: setting<string | undefined>('CARTESIA_VOICE_ID', Joi.string(), 'Cartesia voice of campaigns that name none.'),
    elevenlabsApiKey: setting<string | undefined>('ELEVENLABS_API_KEY', Joi.string().when('ttsProvider', { is: 'elevenlabs', then: Joi.required() }), 'ElevenLabs API key (required with `TTS_PROVIDER=elevenlabs`).'),
    elevenlabsUrl: setting<string>('ELEVENLABS_URL', Joi.string().uri({ scheme: ['ws', 'wss'] }).default('wss://api.elevenlabs.io'), 'ElevenLabs WebSocket base address.'),
    elevenlabsModel: setting<string>('ELEVENLABS_MODEL', Joi.string().default('eleven_flash_v2_5'), 'ElevenLabs model id.'),
    elevenlabsVoiceId: setting<string | undefined>('ELEVENLABS_VOICE_ID', Joi.string(), 'ElevenLabs voice of campaigns that name none.'),
    espeakVoice: setting<string>('ESPEAK_VOICE', Joi.string().pattern(/^[\w+-]+$/).default('en-us'), 'espeak-ng voice of campaigns that name none.'),
    espeakWordsPerMinute: setting<number>('ESPEAK_WORDS_PER_MINUTE', Joi.number().integer().min(80).max(450).default(170), 'espeak-ng speaking rate.'),
    pocketsphinxCommand: setting<string>('POCKETSPHINX_COMMAND', Joi.string().default('pocketsphinx_continuous'), 'The pocketsphinx program of the offline speech-to-text.'),
    voiceVadMode: setting<number>('VOICE_VAD_MODE', Joi.number().integer().min(0).max(3).default(3), 'WebRTC VAD aggressiveness, 0 to 3: higher rejects more background noise as not speech.'),
    voiceVadStartMs: setting<number>('VOICE_VAD_START_MS', Joi.number().integer().min(20).max(2000).default(200), 'Speech this long (ms) starts a caller\'s utterance.'),
    voiceVadStopMs: setting<number>('VOICE_VAD_STOP_MS', Joi.number().integer().min(100).max(5000).default(500), 'Silence this long (ms) ends a caller\'s utterance.'),
    voiceVadMinVolumeDb: setting<number>('VOICE_VAD_MIN_VOLUME_DB', Joi.number().max(0).default(-50), 'Frames quieter than this (dBFS) are silence whatever the VAD says.'),
    voiceFinalWaitMs: setting<number>('VOICE_FINAL_WAIT_MS', Joi.number().integer().min(0).max(10000).default(1000), 'After the caller falls silent, the longest wait for the speech-to-text\'s final words before the turn ends with what was heard.'),
    voiceBargeInMs: setting<number>('VOICE_BARGE_IN_MS', Joi.number().integer().min(20).max(5000).default(500), 'Caller speech this long (ms) stops the agent mid-sentence; shorter sounds ("mm-hm") are backchannels and let it go on.'),
    voiceMaxCallMinutes: setting<number>('VOICE_MAX_CALL_MINUTES', Joi.number().positive().default(20), 'The agent ends calls that last longer than this.'),
    storageDir: setting<string>('STORAGE_DIR', Joi.string().default('data/storage'), 'Folder of the `local` storage backend (call recordings).'),
    s3Bucket: setting<string | undefined>('S3_BUCKET', Joi.string().trim().when('storageBackend', { is: 's3', then: Joi.required() }), 'Bucket of the `s3` storage backend (required with `STORAGE_BACKEND=s3`).'),
    s3Endpoint: setting<string | undefined>('S3_ENDPOINT', Joi.string().uri({ scheme: ['http', 'https'] }), 'Address of an S3-compatible store (MinIO, Ceph, R2, Wasabi...); unset for Amazon S3 itself.'),
    s3Region: setting<string>('S3_REGION', Joi.string().trim().default('us-east-1'), 'Region of the `s3` bucket.'),
    s3AccessKeyId: setting<string | undefined>('S3_ACCESS_KEY_ID', Joi.string().trim(), 'Access key of the `s3` backend; unset, the AWS SDK\'s usual chain (environment, profile, instance role) is used.'),
    s3SecretAccessKey: setting<string | undefined>('S3_SECRET_ACCESS_KEY', Joi.string().when('s3AccessKeyId', { is: Joi.exist(), then: Joi.required() }), 'Secret of `S3_ACCESS_KEY_ID`.'),
    s3ForcePathStyle: setting<boolean>('S3_FORCE_PATH_STYLE', flag.default(false), 'Address the bucket as a path (`endpoint/bucket/key`) rather than a host name: most self-hosted S3-compatible stores want it.'),
    s3Prefix: setting<string>('S3_PREFIX', Joi.string().allow('').pattern(/^([\w.-]+\/)*$/).message('{{#label}} must be empty or folder names each ending with /').default(''), 'Folder inside the bucket where Talky keeps its objects, ending with `/` (for example `talky/`); empty for the bucket\'s root.'),
    metricsToken: setting<string | undefined>('METRICS_TOKEN', Joi.string().min(16), 'Bearer token that `GET /api/v1/metrics` asks of Prometheus (at least 16 characters). Unset, the endpoint answers 404.')
} as const;


type Settings = typeof settings;

export type Config = {
    readonly [K in keyof Settings]: Settings[K] extends Setting<infer T> ? T : never;
};
