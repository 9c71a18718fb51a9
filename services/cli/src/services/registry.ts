/**
 * Every service, in flow order. `saker <name>` runs one, `saker run` all of
 * them. A new service (the web UI) is one module in this folder and one line
 * here.
 */
import type { SakerConfig } from '@saker/config';
import type { ServiceModule } from '@saker/runtime';
import { auditService } from './audit.js';
import { controlService } from './control.js';
import { engineService } from './engine.js';
import { enrichService } from './enrich.js';
import { sensorService } from './sensor.js';
import { sinksService } from './sinks.js';
import { uiService } from './ui.js';

export const SERVICES: readonly ServiceModule<SakerConfig>[] = [
  sensorService,
  auditService,
  engineService,
  sinksService,
  uiService,
  controlService,
  enrichService,
];
