export { createServer, type ServerOptions } from './server';
export type { Core, TalkyPlugin } from './plugin';
export type { Db } from './db';
export type { Slot, ProviderSlots } from './providers';
