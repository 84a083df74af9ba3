import { panAndDrag } from '../tests/frames';
import { problemsOf, test } from '../tests/support';

// The canvas's frame rate with large journeys, printed: `.ci/bench-canvas` (README). Not part
// of `.ci/test`: a frame rate measured on a busy machine is a figure, not a pass or a fail.

// WAYFARER_CANVAS_NODES=1000 measures one size.
const sizes = process.env.WAYFARER_CANVAS_NODES?.split(',').map(Number) ?? [500, 1_000, 2_000];

for (const count of sizes) {
  test(`${count} nodes pan and drag`, async ({ page, request }) => {
    test.setTimeout(180_000);
    const problems = problemsOf(page);
    const { pan, drag } = await panAndDrag(page, request, count);
    console.log(
      `${count} nodes: pan ${pan.fps.toFixed(1)} fps (worst frame ${pan.worst.toFixed(1)} ms), ` +
        `node drag ${drag.fps.toFixed(1)} fps (worst frame ${drag.worst.toFixed(1)} ms)`,
    );
    if (problems.length > 0) throw new Error(problems.join('\n'));
  });
}
