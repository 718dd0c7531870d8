/** The selected loop: a title with the views, then the view itself. */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import type { FleetRow, LoopDetail } from '../../src/client/fleet/index.js';
import { clip } from '../format.js';
import { DETAIL_TABS, type DetailTab } from '../state/types.js';
import { IterationsView } from './IterationsView.js';
import { ScreenView } from './ScreenView.js';
import { StoriesView } from './StoriesView.js';

export interface DetailPaneProps {
  row: FleetRow | null;
  detail: LoopDetail | null;
  /** The detail is being fetched for the first time. */
  loading: boolean;
  tab: DetailTab;
  scroll: number;
  width: number;
  height: number;
  color: boolean;
}

export function DetailPane(props: DetailPaneProps): ReactNode {
  const { row, detail, width, height } = props;
  const inner = Math.max(1, height - 2);
  return (
    <Box flexDirection="column" height={height} width={width} borderStyle="single" borderDimColor>
      <Title {...props} width={width - 2} />
      {/* Clipped at the sides too, although that costs Ink a slice of every line each frame: a line cut to the
          width by its length is still wider than the pane when it holds double-width characters. */}
      <Box flexDirection="column" height={inner - 1} overflow="hidden">
        {row === null ? (
          <Text dimColor>select a loop to see it here</Text>
        ) : detail === null ? (
          <Text dimColor>{props.loading ? `reading ${row.task}…` : 'nothing to show'}</Text>
        ) : (
          <View {...props} detail={detail} width={width - 2} height={inner - 1} />
        )}
      </Box>
    </Box>
  );
}

function Title(props: DetailPaneProps): ReactNode {
  const { row, tab, width } = props;
  const tabs = DETAIL_TABS.map((t, i) => (t === tab ? `[${i + 1} ${t}]` : ` ${i + 1} ${t} `)).join('');
  const name = row ? `${row.task} · ${row.location}` : 'no loop';
  const source = props.detail?.source === 'files' ? ' · ended' : '';
  return (
    <Text wrap="truncate">
      <Text bold>{clip(name + source, Math.max(0, width - tabs.length - 1))}</Text>
      {' '.repeat(Math.max(1, width - tabs.length - [...(name + source)].length))}
      <Text dimColor>{tabs}</Text>
    </Text>
  );
}

function View(props: DetailPaneProps & { detail: LoopDetail }): ReactNode {
  const { detail, width, height } = props;
  const problems = detail.problems.length > 0 ? detail.problems : [];
  const body = Math.max(1, height - (problems.length > 0 ? 1 : 0));
  return (
    <>
      {problems.length > 0 && (
        <Text {...(props.color ? { color: 'red' } : {})} wrap="truncate">
          {clip(problems.join('; '), width)}
        </Text>
      )}
      {props.tab === 'screen' && <ScreenView screen={detail.screen} width={width} height={body} scroll={0} />}
      {props.tab === 'output' && (
        <ScreenView screen={detail.screen} width={width} height={body} scroll={props.scroll} withHistory />
      )}
      {props.tab === 'iterations' && (
        <IterationsView iterations={detail.iterations} width={width} height={body} />
      )}
      {props.tab === 'stories' && (
        <StoriesView
          stories={detail.stories}
          current={detail.currentStory}
          width={width}
          height={body}
          color={props.color}
        />
      )}
    </>
  );
}
