import React, {useState} from 'react';
import {Box, Text, render, useApp, useInput} from 'ink';

function Confirm({question, onAnswer}: {question: string; onAnswer: (yes: boolean) => void}) {
	const {exit} = useApp();
	const [answer, setAnswer] = useState<boolean | undefined>();
	useInput((input, key) => {
		if (answer !== undefined) {
			return;
		}

		const yes = input.toLowerCase() === 'y';
		if (yes || input.toLowerCase() === 'n' || key.return || key.escape || (key.ctrl && input === 'c')) {
			setAnswer(yes);
			onAnswer(yes);
			setTimeout(exit, 0);
		}
	});
	return (
		<Box>
			<Text>
				<Text color="yellow">? </Text>
				{question} <Text dimColor>(y/N)</Text> {answer === undefined ? '' : answer ? 'yes' : 'no'}
			</Text>
		</Box>
	);
}

/** Asks a yes/no question in the terminal; anything but `y` is no. */
export async function confirm(question: string): Promise<boolean> {
	let result = false;
	const app = render(<Confirm question={question} onAnswer={yes => (result = yes)} />, {exitOnCtrlC: false});
	await app.waitUntilExit();
	return result;
}
