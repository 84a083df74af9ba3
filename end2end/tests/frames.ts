import type { APIRequestContext, Locator, Page } from '@playwright/test';

import { expect } from './support';

/** Frames per second while a gesture ran, and its longest frame. */
export interface Frames {
  fps: number;
  worst: number;
}

async function centre(locator: Locator): Promise<{ x: number; y: number }> {
  const box = await locator.boundingBox();
  if (!box) throw new Error('not on screen');
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** Frames per second while `gesture` runs, from requestAnimationFrame timestamps. */
async function framesDuring(page: Page, gesture: () => Promise<void>): Promise<Frames> {
  await page.evaluate(() => {
    const w = window as unknown as { frames: number[]; measuring: boolean };
    w.frames = [];
    w.measuring = true;
    const tick = (at: number) => {
      w.frames.push(at);
      if (w.measuring) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  await gesture();
  const frames = await page.evaluate(() => {
    const w = window as unknown as { frames: number[]; measuring: boolean };
    w.measuring = false;
    return w.frames;
  });
  const gaps = frames.slice(1).map((at, n) => at - frames[n]);
  const total = frames[frames.length - 1] - frames[0];
  return { fps: (1000 * gaps.length) / total, worst: Math.max(...gaps) };
}

/** Drags the mouse from `start` by `step` sixty times, a frame apart. */
async function drag(page: Page, start: { x: number; y: number }, step: { x: number; y: number }) {
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  for (let n = 1; n <= 60; n += 1) {
    await page.mouse.move(start.x + n * step.x, start.y + n * step.y);
    await page.waitForTimeout(16);
  }
  await page.mouse.up();
}

/**
 * Opens a new journey of `count` nodes (a chain in a 25-wide grid), then measures the frame
 * rate while the background is panned for a second and while a node connected on both sides
 * is dragged.
 */
export async function panAndDrag(
  page: Page,
  request: APIRequestContext,
  count: number,
): Promise<{ pan: Frames; drag: Frames }> {
  const nodes = Array.from({ length: count }, (_, n) => ({
    id: `n${n + 1}`,
    position: { x: (n % 25) * 240, y: Math.floor(n / 25) * 140 },
    kind: n === 0 ? 'trigger' : n === count - 1 ? 'exit' : 'delay',
    ...(n === 0
      ? { settings: { event: 'signup' } }
      : n === count - 1
        ? {}
        : { settings: { duration: { value: 1, unit: 'hours' } } }),
  }));
  const edges = nodes.slice(0, -1).map((from, n) => ({ from: from.id, branch: 'next', to: nodes[n + 1].id }));
  const created = await request.post('/api/v1/journeys', {
    data: { name: `Large ${Date.now()}`, draft: { nodes, edges } },
  });
  expect(created.status()).toBe(201);
  const { id } = await created.json();

  await page.goto(`/journeys/${id}`);
  await expect(page.locator('div.node')).toHaveCount(count, { timeout: 60_000 });
  await expect(page.locator('g.edge')).toHaveCount(count - 1);
  await page.getByRole('button', { name: 'Zoom in' }).click();
  await page.getByRole('button', { name: 'Zoom in' }).click();

  const canvas = await page.locator('div.canvas').boundingBox();
  if (!canvas) throw new Error('no canvas');
  // Pan: drag the background (below the grid's bottom-left, where no node is).
  const pan = await framesDuring(page, () =>
    drag(page, { x: canvas.x + 20, y: canvas.y + canvas.height - 20 }, { x: 6, y: -3 }),
  );
  const node = await centre(page.locator('div.node[data-node-id="n30"] .node-box'));
  const moved = await framesDuring(page, () => drag(page, node, { x: 4, y: 2 }));
  return { pan, drag: moved };
}
