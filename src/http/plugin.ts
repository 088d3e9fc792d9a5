import type { Express } from 'express';
import type { Hub } from '../core/hub';

/** Something that adds HTTP endpoints to the hub's API (the ops console, metrics). */
export type HttpPlugin = (app: Express, hub: Hub) => void | Promise<void>;
