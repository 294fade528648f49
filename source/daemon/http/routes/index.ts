import type {Daemon} from '../../context.js';
import type {Route} from '../app.js';
import {systemRoutes} from './system.js';

export function allRoutes(daemon: Daemon): Route[] {
	return [...systemRoutes(daemon)];
}
