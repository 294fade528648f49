import type {z} from 'zod';
import {usageError, type FieldIssue} from './errors.js';

type Where = 'body' | 'query' | 'path';

/** zod issue → the 0.6 (pydantic) vocabulary of rest-api §1.3. */
export function toFieldIssues(error: z.ZodError, where: Where, input: unknown): FieldIssue[] {
	const issues: FieldIssue[] = [];
	for (const issue of error.issues) {
		const loc: Array<string | number> = [where, ...issue.path.map(p => (typeof p === 'symbol' ? String(p) : p))];
		switch (issue.code) {
			case 'invalid_type': {
				const missing = valueAt(input, issue.path) === undefined;
				if (missing) {
					issues.push({type: 'missing', loc, msg: 'Field required'});
				} else {
					const expected = issue.expected;
					const names: Record<string, [string, string]> = {
						string: ['string_type', 'Input should be a valid string'],
						number: ['float_type', 'Input should be a valid number'],
						int: ['int_type', 'Input should be a valid integer'],
						boolean: ['bool_type', 'Input should be a valid boolean'],
						array: ['list_type', 'Input should be a valid list'],
						object: ['dict_type', 'Input should be a valid dictionary'],
					};
					const [type, msg] = names[expected] ?? ['value_error', issue.message];
					issues.push({type, loc, msg});
				}

				break;
			}

			case 'unrecognized_keys': {
				for (const key of issue.keys) {
					issues.push({type: 'extra_forbidden', loc: [...loc, key], msg: 'Extra inputs are not permitted'});
				}

				break;
			}

			case 'invalid_value': {
				issues.push({type: 'literal_error', loc, msg: `Input should be ${issue.values.map(v => JSON.stringify(v)).join(' or ')}`});
				break;
			}

			case 'invalid_union': {
				issues.push({type: 'value_error', loc, msg: issue.message === 'Invalid input' ? 'Input has an invalid type or value' : issue.message});
				break;
			}

			case 'too_small': {
				if (issue.origin === 'string') {
					issues.push({type: 'string_too_short', loc, msg: `String should have at least ${String(issue.minimum)} character${issue.minimum === 1 ? '' : 's'}`});
				} else if (issue.origin === 'array') {
					issues.push({type: 'too_short', loc, msg: `List should have at least ${String(issue.minimum)} item${issue.minimum === 1 ? '' : 's'}`});
				} else {
					issues.push({type: issue.inclusive ? 'greater_than_equal' : 'greater_than', loc, msg: `Input should be greater than${issue.inclusive ? ' or equal to' : ''} ${String(issue.minimum)}`});
				}

				break;
			}

			case 'too_big': {
				if (issue.origin === 'string') {
					issues.push({type: 'string_too_long', loc, msg: `String should have at most ${String(issue.maximum)} characters`});
				} else if (issue.origin === 'array') {
					issues.push({type: 'too_long', loc, msg: `List should have at most ${String(issue.maximum)} items`});
				} else {
					issues.push({type: issue.inclusive ? 'less_than_equal' : 'less_than', loc, msg: `Input should be less than${issue.inclusive ? ' or equal to' : ''} ${String(issue.maximum)}`});
				}

				break;
			}

			case 'invalid_format': {
				issues.push({type: 'string_pattern_mismatch', loc, msg: issue.message});
				break;
			}

			default: {
				issues.push({type: 'value_error', loc, msg: issue.message});
			}
		}
	}

	return issues;
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
	let current: unknown = input;
	for (const key of path) {
		if (current === null || typeof current !== 'object') {
			return undefined;
		}

		current = (current as Record<PropertyKey, unknown>)[key];
	}

	return current;
}

/** Parses `input` with `schema`; a violation becomes a 422 AppError with field-level details. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where: Where): z.output<S> {
	const result = schema.safeParse(input);
	if (!result.success) {
		const issues = toFieldIssues(result.error, where, input);
		throw usageError(describeIssues(issues), issues);
	}

	return result.data;
}

/** One readable line for the CLI: `subject: String should have at least 1 character (messages.0.subject)`. */
export function describeIssues(issues: FieldIssue[]): string {
	return issues
		.slice(0, 3)
		.map(issue => `${issue.loc.slice(1).join('.') || issue.loc[0]}: ${issue.msg}`)
		.join('; ');
}

/** The first problem with one value, as a readable message (inline form validation). */
export function fieldError(schema: z.ZodType, value: unknown): string | undefined {
	const result = schema.safeParse(value);
	return result.success ? undefined : toFieldIssues(result.error, 'body', value)[0]?.msg;
}
