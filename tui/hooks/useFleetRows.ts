/** Starts the fleet (reconciling the registry first) and keeps the state's rows in step with it. */
import { useEffect } from 'react';
import { errorMessage } from '../../src/errors.js';
import { useFleet, useFramePacer, useTuiActions } from '../state/context.js';

export function useFleetRows(): void {
  const fleet = useFleet();
  const pacer = useFramePacer();
  const { dispatch } = useTuiActions();
  useEffect(() => {
    let live = true;
    const apply = (): void => {
      if (live) dispatch({ type: 'rows', rows: fleet.rows() });
    };
    // The rows are built when the frame is drawn, from what the fleet knows then: once a frame, however many
    // changes came in between.
    const update = (): void => pacer.schedule('rows', apply);
    const problem = (text: string): void => {
      if (live) dispatch({ type: 'notice', notice: { kind: 'error', text } });
    };
    fleet.on('change', update);
    fleet.on('problem', problem);
    // Coming back from an attach, the fleet is already running: its rows are there at once.
    const first = !fleet.started;
    fleet.start().then(
      (report) => {
        // The first rows come with `ready`, so the list never says "no loops" while they are on their way.
        apply();
        if (!live) return;
        dispatch({ type: 'ready' });
        if (first && report.crashed.length > 0) {
          const names = report.crashed.map((s) => s.task).join(', ');
          dispatch({
            type: 'notice',
            notice: { kind: 'info', text: `marked crashed (runner gone): ${names}` },
          });
        }
      },
      (err: unknown) => problem(`cannot read the registry: ${errorMessage(err)}`),
    );
    return () => {
      live = false;
      fleet.off('change', update);
      fleet.off('problem', problem);
    };
  }, [fleet, pacer, dispatch]);
}
