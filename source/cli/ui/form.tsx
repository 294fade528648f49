import React, {useEffect, useReducer} from 'react';
import {Box, Text, render, useApp, useInput} from 'ink';
import type {z} from 'zod';
import {fieldError} from '../../shared/validation.js';

export type FieldValue = string | number | boolean | undefined;
export type Values = Record<string, FieldValue>;

export type FormField = {
	name: string;
	label: string;
	kind: 'text' | 'int' | 'secret' | 'choice' | 'bool';
	choices?: string[];
	/** Shown in the prompt and used when the answer is empty. */
	default?: string;
	/** Empty is allowed (and means the hint, e.g. "unlimited"). */
	optional?: boolean;
	hint?: string;
	/** Validates the converted value with the same schema the operation uses. */
	schema?: z.ZodType;
	/** Ask only when this holds for the answers so far. */
	when?: (values: Values) => boolean;
};

/** The typed value of an answer, or an error message. */
function convert(field: FormField, raw: string): {value: FieldValue} | {error: string} {
	const text = raw.trim() === '' ? field.default ?? '' : raw.trim();
	if (text === '') {
		return field.optional ? {value: undefined} : {error: 'a value is required'};
	}

	let value: FieldValue = text;
	if (field.kind === 'int') {
		if (!/^-?\d+$/.test(text)) {
			return {error: 'Input should be a valid integer'};
		}

		value = Number(text);
	} else if (field.kind === 'bool') {
		value = /^(y|yes|true)$/i.test(text);
	}

	const error = field.schema ? fieldError(field.schema, value) : undefined;
	return error ? {error} : {value};
}

function shown(field: FormField, value: FieldValue): string {
	if (value === undefined) {
		return field.hint ?? '(none)';
	}

	if (field.kind === 'secret') {
		return '*'.repeat(String(value).length);
	}

	if (field.kind === 'bool') {
		return value ? 'yes' : 'no';
	}

	return String(value);
}

type State = {values: Values; index: number; input: string; error?: string; finished?: 'done' | 'cancelled'};

type Action = {type: 'text'; text: string} | {type: 'enter'} | {type: 'backspace'} | {type: 'cancel'} | {type: 'cycle'; step: 1 | -1};

function visibleFields(fields: FormField[], initial: Values, values: Values): FormField[] {
	return fields.filter(field => !(field.name in initial) && (field.when?.(values) ?? true));
}

function chosen(field: FormField, input: string): string {
	return input || field.default || field.choices?.[0] || '';
}

/** One step of the form; pure, so a burst of keys (pasted or typed fast) is applied in order. */
function reduce(fields: FormField[], initial: Values, state: State, action: Action): State {
	if (state.finished) {
		return state;
	}

	const field = visibleFields(fields, initial, state.values)[state.index];
	if (!field) {
		return {...state, finished: 'done'};
	}

	switch (action.type) {
		case 'cancel': {
			return {...state, finished: 'cancelled'};
		}

		case 'backspace': {
			return {...state, input: state.input.slice(0, -1)};
		}

		case 'cycle': {
			const choices = field.choices ?? [];
			if (choices.length === 0) {
				return state;
			}

			const current = Math.max(0, choices.indexOf(chosen(field, state.input)));
			return {...state, input: choices[(current + action.step + choices.length) % choices.length]!};
		}

		case 'text': {
			return field.kind === 'choice' ? state : {...state, input: state.input + action.text};
		}

		case 'enter': {
			const result = convert(field, field.kind === 'choice' ? chosen(field, state.input) : state.input);
			if ('error' in result) {
				return {...state, error: result.error};
			}

			const values = {...state.values, [field.name]: result.value};
			const done = state.index + 1 >= visibleFields(fields, initial, values).length;
			return {values, index: done ? state.index : state.index + 1, input: '', error: undefined, finished: done ? 'done' : undefined};
		}
	}
}

/** Splits one input chunk into actions: Enter, backspace and text, in the order they were typed. */
function actionsOf(chunk: string): Action[] {
	const actions: Action[] = [];
	let text = '';
	const flush = () => {
		if (text) {
			actions.push({type: 'text', text});
			text = '';
		}
	};

	for (const character of chunk) {
		if (character === '\r' || character === '\n') {
			flush();
			actions.push({type: 'enter'});
		} else if (character === '\u007F' || character === '\b') {
			flush();
			actions.push({type: 'backspace'});
		} else if (character >= ' ') {
			text += character;
		}
	}

	flush();
	return actions;
}

function Form({title, fields, initial, onDone}: {title: string; fields: FormField[]; initial: Values; onDone: (values: Values | undefined) => void}) {
	const {exit} = useApp();
	const [state, dispatch] = useReducer((current: State, actions: Action[]) => actions.reduce((next, action) => reduce(fields, initial, next, action), current), {
		values: {...initial},
		index: 0,
		input: '',
	});

	useEffect(() => {
		if (state.finished) {
			onDone(state.finished === 'done' ? state.values : undefined);
			setTimeout(exit, 0);
		}
	}, [state.finished]);

	useInput((character, key) => {
		if (key.escape || (key.ctrl && character === 'c')) {
			dispatch([{type: 'cancel'}]);
		} else if (key.return) {
			// A lone Enter may arrive with "\r" as its character: count it once.
			dispatch([...actionsOf(character.replaceAll(/[\r\n]/g, '')), {type: 'enter'}]);
		} else if (key.backspace || key.delete) {
			dispatch([{type: 'backspace'}]);
		} else if (key.leftArrow || key.upArrow) {
			dispatch([{type: 'cycle', step: -1}]);
		} else if (key.rightArrow || key.downArrow || key.tab) {
			dispatch([{type: 'cycle', step: 1}]);
		} else if (!key.ctrl && !key.meta && character) {
			dispatch(actionsOf(character));
		}
	});

	const pending = visibleFields(fields, initial, state.values);
	const field = pending[state.index];
	const answered = pending.slice(0, state.finished === 'done' ? pending.length : state.index);
	return (
		<Box flexDirection="column">
			<Text bold>{title}</Text>
			{answered.map(item => (
				<Text key={item.name}>
					<Text color="green">✔ </Text>
					{item.label}: <Text color="cyan">{shown(item, state.values[item.name])}</Text>
				</Text>
			))}
			{field && !state.finished ? (
				<Box flexDirection="column">
					<Text>
						<Text color="yellow">? </Text>
						{field.label}
						{field.default === undefined ? '' : <Text dimColor> ({field.default})</Text>}
						{field.optional && field.hint ? <Text dimColor> [empty = {field.hint}]</Text> : ''}
						{': '}
						{field.kind === 'choice' ? (
							(field.choices ?? []).map(choice => (
								<Text key={choice} inverse={choice === chosen(field, state.input)}>
									{` ${choice} `}
								</Text>
							))
						) : (
							<Text>{field.kind === 'secret' ? '*'.repeat(state.input.length) : state.input}</Text>
						)}
						<Text inverse> </Text>
					</Text>
					{state.error ? <Text color="red">  ✖ {state.error}</Text> : null}
					<Text dimColor>  Enter to confirm{field.kind === 'choice' ? ', ←/→ to choose' : ''}, Esc to cancel</Text>
				</Box>
			) : null}
			{state.finished === 'cancelled' ? <Text color="red">cancelled</Text> : null}
		</Box>
	);
}

/** Asks for the fields not given in `initial`; resolves with all values, or undefined if cancelled. */
export async function runForm(title: string, fields: FormField[], initial: Values = {}): Promise<Values | undefined> {
	let result: Values | undefined;
	const app = render(<Form title={title} fields={fields} initial={initial} onDone={values => (result = values)} />, {exitOnCtrlC: false});
	await app.waitUntilExit();
	return result;
}
