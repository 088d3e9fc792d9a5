/**
 * A generic signed webhook, both ways: action `post` delivers a case as JSON (canonical, or shaped by a JSONata
 * expression) to any HTTP receiver, signed per Standard Webhooks; source `receive` takes signed cases from any
 * sender at POST /webhooks/<connection>. For systems that have no adapter of their own.
 */
import { defineAdapter } from 'caseway/core';
import settingsSchema from './configuration-schema.json';
import { sandbox } from './sandbox';
import { post } from './src/post';
import { receiveSource } from './src/receive';
import type { WebhookSettings } from './src/settings';

export default defineAdapter<WebhookSettings>({
  name: 'webhook',
  title: 'Generic signed webhook (Standard Webhooks)',
  settingsSchema,
  actions: { post },
  sources: { receive: receiveSource },
  sandbox,
});
