/* ciel — the audience page.
 *
 * Three parts, each with one job, and the glue at the end:
 *   the sky   an A-Frame shader and component: the piece's Mollweide oval, crossfading to each new one,
 *             and through the piece's keyframes on its sound's clock; without WebGL2, a plain <img> in
 *             the same oval with the same crossfades;
 *   the sound WebAudio: each piece's MP3 decoded and scheduled back to back on the AudioContext clock;
 *   the feed  Server-Sent Events from the node, polling with If-None-Match when the stream fails,
 *             backing off while the node is away.
 * `window.ciel` is a small read-only view of the page's state, for the browser tests.
 *
 * Loaded deferred. It loads A-Frame itself, only where WebGL2 works, then registers the shader and
 * the components and only then puts the scene (index.html's <template>) into the page.
 */
(function () {
  'use strict';

  let THREE = null;         // AFRAME.THREE, once A-Frame is there
  const params = new URLSearchParams(location.search);

  // --- timings (seconds) ---------------------------------------------------------------------------
  const SKY_FADE = 4.0;       // crossfade between two skies; shorter when pieces come faster
  const LATENCY = 1.0;        // the sound runs this far behind live, so the next piece can download and
                              // decode before its join; the picture does not wait (a 4 s fade hides it)
  const JOIN_XF = 0.04;       // overlap at a back-to-back join; every sound already fades out at its end
  const CUT_XF = 0.8;         // crossfade when a piece interrupts another (a performer's /ciel/next)
  const ENTRY_FADE = 1.2;     // fade-in when the sound starts, or starts again after a gap
  const POLL = 2.0;           // polling period when the stream is unavailable
  const BACKOFF_MAX = 15.0;   // longest wait between two attempts while the node is unreachable
  const STALL_GRACE = 15.0;   // a piece this late (past its interval) makes the page check on the node
  const FPS = 30;             // everything here moves slowly: half the frames of a 60 Hz screen suffice
  const KEYFRAME_FADE = 1.0;  // crossfade from one keyframe to the next; at most a quarter of a keyframe's time
  // The sky answers the sound it plays (the analyser the meter reads), within bounds: brighter by up to
  // PULSE_LIGHT and its glow by up to PULSE_GLOW with the loudness; grain by up to FLUX_GRAIN with the flux.
  const PULSE_LIGHT = 0.16, PULSE_GLOW = 1.5, FLUX_GRAIN = 0.10;
  const PULSE_UP = 0.05, PULSE_DOWN = 0.6;    // envelope: attack and release (s), as a light meter's
  // Someone who asked their system for less motion gets no pulsing sky (the slow sway stops too).
  const REDUCED_MOTION = matchMedia('(prefers-reduced-motion: reduce)');

  const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));
  // Each piece's sound comes as Ogg Opus (lighter) and MP3 (everywhere): Opus where the browser says it plays it.
  const PLAYS_OPUS = !!document.createElement('audio').canPlayType('audio/ogg; codecs="opus"');

  // The debug view the tests read. Getters, so it is always current and costs nothing when unread.
  const ciel = {
    seq: null, sky: null, pieces: 0, texturesMade: 0, texturesLive: 0,
    state: 'connecting', transport: null, listening: false, soundErrors: 0,
    soundUrl: null,           // the last sound fetched: the piece's Opus where this browser plays it, else its MP3
    renderer: null,           // 'webgl' (A-Frame) or 'img' (no WebGL2: the plain picture)
    skyPulse: 0, skyFlux: 0,  // how the sound drives the sky now (0..1 each; 0 without sound or motion)
    keyframes: [],            // the last keyframe switches: {seq, k, at (the piece's clock, s), clock: 'sound'|'wall'}
    frames: 0,                // animation frames seen (the tests wait for a state to be drawn, not only set)
  };
  window.ciel = ciel;

  /* ============================================================================================
   * The sky
   * ========================================================================================== */

  // Everything A-Frame: registered only once A-Frame has loaded, which it does only where WebGL2 works.
  function registerAframe() {
    THREE = AFRAME.THREE;

    // The plane is MARGIN times larger than the oval so the rim and the glow around it have room.
    const MARGIN = 1.3;

    AFRAME.registerShader('ciel-sky', {
      schema: {},
      // Our own uniforms, not A-Frame's: its `map` properties go through its texture cache, which keeps
      // every URL it ever loaded. Textures here are made and disposed by the ciel-sky component.
      init: function () {
        this.uniforms = {
          skyA: { value: null }, skyB: { value: null }, hasA: { value: 0 }, hasB: { value: 0 },
          mixAB: { value: 0 }, presence: { value: 0 }, time: { value: 0 }, scale: { value: MARGIN },
          pulse: { value: 0 }, flux: { value: 0 },
        };
        this.material = new THREE.ShaderMaterial({
          uniforms: this.uniforms,
          vertexShader: `
            varying vec2 vUv;
            void main() {
              vUv = uv;
              gl_Position = projectionMatrix * modelViewMatrix * vec4(position, 1.0);
            }`,
          fragmentShader: `
            uniform sampler2D skyA;
            uniform sampler2D skyB;
            uniform float hasA, hasB, mixAB, presence, time, scale, pulse, flux;
            varying vec2 vUv;
            const float PI = 3.14159265;

            float hash(vec2 p) { return fract(sin(dot(p, vec2(12.9898, 78.233))) * 43758.5453); }

            // Image rows run top-down (the texture is uploaded unflipped); nothing outside the image.
            vec4 sky(sampler2D map, vec2 t) {
              vec2 inside = step(vec2(0.0), t) * step(t, vec2(1.0));
              return texture2D(map, vec2(t.x, 1.0 - t.y)) * inside.x * inside.y;
            }
            // The colour just inside the rim nearest to q, blurred (a coarse mip level, explicit: it is
            // read inside a branch): the glow takes the colours of the oval's edge, like light bleeding.
            vec3 edge(sampler2D map, vec2 q) {
              vec2 e = 0.5 + 0.465 * q / max(length(q), 1e-3);
              return textureLod(map, vec2(e.x, 1.0 - e.y), 3.5).rgb;
            }

            // A faint graticule, as on printed all-sky maps: meridians every 30 deg, parallels every 30 deg.
            float graticule(vec2 q) {
              float theta = asin(clamp(q.y, -1.0, 1.0));
              float lat = asin(clamp((2.0 * theta + sin(2.0 * theta)) / PI, -1.0, 1.0));
              float lon = PI * q.x / max(cos(theta), 1e-3);
              vec2 g = vec2(lon, lat) / (PI / 6.0);
              vec2 f = abs(fract(g - 0.5) - 0.5) / max(fwidth(g), 1e-4);
              float line = 1.0 - min(min(f.x, f.y), 1.0);
              return line * (1.0 - smoothstep(0.86, 1.0, abs(q.y)));  // meridians crowd at the poles
            }

            void main() {
              vec2 t = (vUv - 0.5) * scale + 0.5;   // texture coordinates: the oval fills [0,1]^2
              vec2 q = (t - 0.5) * 2.0;             // the oval is the unit circle here
              float r = length(q);

              // Branches on uniforms and on the region, not ternaries: a software renderer (no GPU)
              // then skips the texture reads a pixel does not need.
              vec4 c = vec4(0.0);
              if (hasA > 0.5) c = sky(skyA, t);
              if (hasB > 0.5) c = mix(c, sky(skyB, t), mixAB);

              float lines = graticule(q);  // out here: fwidth needs every pixel of the quad
              vec3 col = c.rgb;
              if (c.a > 0.0) {
                // Grain that changes every frame: the map is never quite still, like the nets behind it.
                float grain = hash(floor(t * vec2(1024.0, 512.0)) + floor(time * 24.0) * 7.31) - 0.5;
                // The sound's own flux stirs the grain; its loudness lights the map.
                col *= (1.0 + (0.07 + ${FLUX_GRAIN.toFixed(3)} * flux) * grain) * (1.0 + ${PULSE_LIGHT.toFixed(3)} * pulse);
                col = mix(col, vec3(0.85, 0.82, 0.76), 0.05 * lines * c.a);
              }

              // Outside the oval: a hairline rim and a glow in the colours of its edge. Distances in
              // plane units (the oval's semi-axes are 1 and 0.5), fading out before the plane's border.
              vec3 haloCol = vec3(0.0);
              float haloA = 0.0;
              if (r > 0.985) {
                vec2 grad = vec2(q.x, 2.0 * q.y) / r;
                float dist = max(r - 1.0, 0.0) / length(grad);
                vec2 border = min(vUv, 1.0 - vUv);
                float window = smoothstep(0.0, 0.05, min(border.x, border.y));
                float glow = 0.34 * (1.0 + ${PULSE_GLOW.toFixed(3)} * pulse) * exp(-dist / 0.045) * smoothstep(0.99, 1.0, r)
                  * mix(hasA, hasB, mixAB) * window;
                float rim = 0.20 * exp(-pow((dist - 0.011) / 0.0022, 2.0)) * window;
                vec3 tint = vec3(0.0);
                if (glow > 0.004) {
                  if (hasA > 0.5) tint = edge(skyA, q);
                  if (hasB > 0.5) tint = mix(tint, edge(skyB, q), mixAB);
                }
                haloCol = (tint * glow + vec3(0.86, 0.82, 0.75) * rim) / max(glow + rim, 1e-4);
                haloA = clamp(glow + rim, 0.0, 1.0);
              }

              // Map over halo (premultiplied), then dim and grey the whole while waiting.
              vec3 pre = col * c.a + haloCol * haloA * (1.0 - c.a);
              float alpha = c.a + haloA * (1.0 - c.a);
              vec3 rgb = pre / max(alpha, 1e-4);
              float luma = dot(rgb, vec3(0.299, 0.587, 0.114));
              rgb = mix(vec3(luma), rgb, 0.35 + 0.65 * presence);
              gl_FragColor = vec4(rgb, alpha * (0.25 + 0.75 * presence));
            }`,
        });
        return this.material;
      },
      update: function () {},
    });

    // A-Frame and three.js both remember what was loaded by URL (THREE.Cache is switched on by A-Frame;
    // the material system keeps every texture source). Skies are fetched here, not through them, but a
    // URL that reached either is dropped too, so a night of new URLs never piles up.
    function forget(sceneEl, url) {
      THREE.Cache.remove(url);
      const materials = sceneEl.systems.material;
      if (materials && materials.sourceCache) delete materials.sourceCache[url];
    }

    async function loadSky(url) {
      const res = await fetch(url);   // a keyframe's URL names its strip: the fragment is not sent
      if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
      // An ImageBitmap can be closed, freeing the decoded pixels now rather than at some later GC.
      const options = { premultiplyAlpha: 'none', colorSpaceConversion: 'none' };
      let bitmap = await createImageBitmap(await res.blob(), options);
      const cell = cellOf(url);
      if (cell) {                                // one sky of the strip: its own bitmap, the strip let go
        const h = bitmap.height / cell.n;
        const whole = bitmap;
        bitmap = await createImageBitmap(whole, 0, Math.round(cell.k * h), whole.width, Math.round(h), options);
        whole.close();
      }
      const texture = new THREE.Texture(bitmap);
      texture.flipY = false;                     // not supported for ImageBitmap; the shader flips
      texture.minFilter = THREE.LinearMipmapLinearFilter;
      texture.anisotropy = 4;
      texture.needsUpdate = true;
      texture.userData.url = url;
      ciel.texturesMade += 1;
      ciel.texturesLive += 1;
      return texture;
    }

    AFRAME.registerComponent('ciel-sky', {
      init: function () {
        this.a = null;          // the sky fully shown
        this.b = null;          // the sky fading in over it
        this.fadeStart = 0;
        this.fadeLength = SKY_FADE;
        this.presence = 1;      // eased towards presenceTarget: 1 fully there, lower while waiting
        this.presenceTarget = 1;
        this.wanted = null;     // URL of the newest sky asked for
        this.loading = false;
        this.fit = this.fit.bind(this);
        window.addEventListener('resize', this.fit);
        this.el.sceneEl.addEventListener('loaded', this.fit);
        view.sky = this;
        if (view.pending) this.setSky(view.pending.url, view.pending.fade);
        view.pending = null;
      },

      remove: function () {
        window.removeEventListener('resize', this.fit);
        [this.a, this.b].forEach((t) => t && this.drop(t));
      },

      uniforms: function () {
        const mesh = this.el.getObject3D('mesh');
        return mesh && mesh.material.uniforms;
      },

      // Keep the 2x1 oval within 84% of the width and 66% of the height, a little above centre,
      // leaving the bottom edge to the controls.
      fit: function () {
        const camera = this.el.sceneEl.camera;
        if (!camera) return;
        const aspect = window.innerWidth / Math.max(window.innerHeight, 1);
        const tanHalf = Math.tan(THREE.MathUtils.degToRad(camera.fov / 2));
        const distance = Math.max(1 / (0.66 * 2 * tanHalf), 2 / (0.84 * 2 * tanHalf * aspect));
        this.distance = distance;
        this.el.object3D.position.set(0, 0.035 * 2 * distance * tanHalf, -distance);
      },

      // Ask for a sky; the newest wins, loads never overlap, and a failed one is retried by the next call.
      setSky: async function (url, fade) {
        this.wanted = url;
        this.nextFade = fade;
        if (this.loading) return;
        this.loading = true;
        try {
          while (this.wanted && this.wanted !== this.shownUrl()) {
            const asked = this.wanted;
            const texture = await loadSky(asked);
            if (asked !== this.wanted) { this.drop(texture); continue; }  // overtaken while loading
            this.show(texture, this.nextFade);
          }
        } catch (err) {
          console.warn('ciel: sky not loaded:', err.message);
        } finally {
          this.loading = false;
        }
      },

      shownUrl: function () {
        const newest = this.b || this.a;
        return newest && newest.userData.url;
      },

      show: function (texture, fade) {
        if (this.b) this.settle();              // a fade still running: finish it at once
        this.b = texture;
        this.fadeStart = performance.now();
        this.fadeLength = fade;
        ciel.sky = texture.userData.url;
        this.bind();
      },

      // The incoming sky is fully shown: the old one is no longer drawn, so let it go.
      settle: function () {
        if (this.a) this.drop(this.a);
        this.a = this.b;
        this.b = null;
        this.bind();
      },

      drop: function (texture) {
        texture.dispose();                      // frees the GPU copy
        if (texture.image && texture.image.close) texture.image.close();
        forget(this.el.sceneEl, texture.userData.url);
        ciel.texturesLive -= 1;
      },

      bind: function () {
        const u = this.uniforms();
        if (!u) return;
        u.skyA.value = this.a; u.hasA.value = this.a ? 1 : 0;
        u.skyB.value = this.b; u.hasB.value = this.b ? 1 : 0;
        u.mixAB.value = 0;
      },

      tick: function (time, delta) {
        const u = this.uniforms();
        if (!u) return;
        if (!this.distance) this.fit();
        if (u.skyA.value !== this.a || u.skyB.value !== this.b) this.bind();
        u.time.value = time / 1000;
        if (this.b) {
          const x = clamp((performance.now() - this.fadeStart) / (this.fadeLength * 1000), 0, 1);
          u.mixAB.value = x * x * (3 - 2 * x);  // smoothstep: no visible start or end to the fade
          if (x >= 1) this.settle();
        }
        // Ease in and out of the waiting state over a couple of seconds.
        this.presence += (this.presenceTarget - this.presence) * Math.min(1, (delta || 16) / 1200);
        u.presence.value = this.presence;
        u.pulse.value = ciel.skyPulse;
        u.flux.value = ciel.skyFlux;
        // The slow drift: a sway of a degree or two, periods of about a minute, never repeating exactly.
        if (!REDUCED_MOTION.matches) {
          const s = time / 1000;
          const o = this.el.object3D;
          o.rotation.y = 0.040 * Math.sin(s * 2 * Math.PI / 67);
          o.rotation.x = 0.022 * Math.sin(s * 2 * Math.PI / 89 + 1.3);
          o.rotation.z = 0.006 * Math.sin(s * 2 * Math.PI / 113 + 0.4);
        }
      },
    });

    // A-Frame draws on every animation frame. This page is meant to stay open for hours, on any
    // machine (some without a GPU, where WebGL runs on the CPU): draw at most FPS times a second.
    AFRAME.registerComponent('frame-cap', {
      init: function () {
        const scene = this.el;
        scene.addEventListener('renderstart', () => {
          const render = scene.render.bind(scene);
          const every = 1000 / FPS;
          let last = -Infinity;
          scene.renderer.setAnimationLoop((time, frame) => {
            if (frame || time - last >= every - 2) {   // an XR frame is never skipped
              last = time;
              render(time, frame);
            }
          });
        });
      },
    });
  }

  // Without WebGL2 (Firefox headless, old or locked-down machines) the same sky is a plain <img>
  // in the oval: the PNG is transparent outside it, so the oval needs no drawing of its own. The
  // same interface as the ciel-sky component: setSky(url, fade), b (a fade running), presenceTarget.
  class FlatSky {
    constructor(root) {
      this.root = root;
      this.a = null;          // the <img> fully shown
      this.b = null;          // the <img> fading in over it
      this.fade = null;       // its Animation
      this.wanted = null;
      this.loading = false;
    }

    set presenceTarget(value) { this.root.classList.toggle('away', value < 1); }

    // The sound's loudness lights the picture as it lights the WebGL sky (no grain here: no shader).
    set pulse(value) {
      const shown = Math.round(value * 50) / 50;   // styles touched only when it moved
      if (shown === this.shownPulse) return;
      this.shownPulse = shown;
      this.root.style.setProperty('--light', (1 + PULSE_LIGHT * shown).toFixed(3));  // style.css: #flat img
    }

    // The newest sky wins, loads never overlap, a failed one is retried by the next call.
    async setSky(url, fade) {
      this.wanted = url;
      this.nextFade = fade;
      if (this.loading) return;
      this.loading = true;
      try {
        while (this.wanted && this.wanted !== this.shownUrl()) {
          const asked = this.wanted;
          const img = await FlatSky.load(asked);
          if (asked !== this.wanted) { FlatSky.drop(img); continue; }
          this.show(img, this.nextFade);
        }
      } catch (err) {
        console.warn('ciel: sky not loaded:', err.message);
      } finally {
        this.loading = false;
      }
    }

    // Decoded before it is shown, so a crossfade never starts from a half-painted picture.
    static async load(url) {
      const img = new Image();
      img.alt = '';
      img.decoding = 'async';
      img.src = url;                // a keyframe: the strip, cropped to its cell (it fills the oval's width)
      const cell = cellOf(url);
      if (cell) {
        img.style.objectFit = 'cover';
        img.style.objectPosition = `50% ${cell.n > 1 ? (100 * cell.k) / (cell.n - 1) : 0}%`;
      }
      try {
        await img.decode();
      } catch (err) {
        throw new Error(`${url}: not decoded`);
      }
      ciel.texturesMade += 1;
      ciel.texturesLive += 1;
      return img;
    }

    static drop(img) {
      img.remove();
      img.removeAttribute('src');   // lets the browser free the decoded pixels now
      ciel.texturesLive -= 1;
    }

    shownUrl() {
      const newest = this.b || this.a;
      return newest && newest.getAttribute('src');
    }

    show(img, fade) {
      if (this.b) this.settle();
      this.b = img;
      ciel.sky = img.getAttribute('src');
      this.root.append(img);
      this.fade = img.animate([{ opacity: 0 }, { opacity: 1 }], { duration: REDUCED_MOTION.matches ? 0 : fade * 1000 });
      this.fade.onfinish = () => this.settle();
    }

    settle() {
      if (this.fade) { this.fade.onfinish = null; this.fade.cancel(); this.fade = null; }
      if (this.a) FlatSky.drop(this.a);
      this.a = this.b;
      this.b = null;
    }
  }

  // WebGL2, as three.js asks for it (A-Frame 1.8 needs WebGL2). The probe's context is given back
  // at once: a browser allows only a few at a time.
  function hasWebGL2() {
    try {
      const gl = document.createElement('canvas').getContext('webgl2', { alpha: true, antialias: true });
      if (!gl) return false;
      const lose = gl.getExtension('WEBGL_lose_context');
      if (lose) lose.loseContext();
      return true;
    } catch (err) {
      return false;
    }
  }

  // The <img> sky, for good: no WebGL2, A-Frame missing, or a WebGL context lost. A-Frame is not
  // loaded at all without WebGL2 (it could only fail, with uncaught errors and an empty field).
  function flat(why) {
    if (ciel.renderer === 'img') return;
    console.info(`ciel: the sky as a picture (${why})`);
    const pending = view.sky ? { url: skyAsked, fade: 0 } : view.pending;
    const scene = document.querySelector('a-scene');
    if (scene) scene.remove();
    ciel.renderer = 'img';
    const root = document.getElementById('flat');
    root.hidden = false;
    view.sky = new FlatSky(root);
    view.sky.presenceTarget = ciel.state === 'waiting' ? 0.35 : 1;
    if (pending && pending.url) view.sky.setSky(pending.url, pending.fade);
    view.pending = null;
  }

  function startSky() {
    if (params.get('sky') === 'img') return flat('?sky=img');
    if (!hasWebGL2()) return flat('no WebGL2');
    window.AFRAME_CDN_ROOT = '/vendor/';    // A-Frame fetches nothing from a CDN
    const script = document.createElement('script');
    script.src = '/vendor/aframe.min.js';
    script.onerror = () => flat('A-Frame did not load');
    script.onload = () => {
      try {
        registerAframe();
      } catch (err) {
        return flat(`A-Frame: ${err.message}`);
      }
      ciel.renderer = 'webgl';
      const scene = document.getElementById('scene-markup').content.firstElementChild.cloneNode(true);
      document.body.prepend(scene);
      scene.addEventListener('renderstart', () => {
        scene.canvas.addEventListener('webglcontextlost', () => flat('WebGL context lost'));
      });
    };
    document.head.append(script);
  }

  /* ============================================================================================
   * The sound
   * ========================================================================================== */

  class Sound {
    constructor() {
      this.ctx = null;
      this.voices = new Set();  // sources scheduled or playing; each removes itself when it ends
      this.playhead = 0;        // context time where the last scheduled sound ends (0: nothing queued)
      this.token = 0;           // the newest piece asked for; older loads give way to it
      this.chain = Promise.resolve();
      this.on = false;
      this.history = [];        // the last few sounds scheduled, {seq, ready, start, end, how}: for the tests
    }

    // Must run inside the click handler: browsers start audio only from a user gesture.
    start(piece) {
      if (!this.ctx) {
        const Context = window.AudioContext || window.webkitAudioContext;
        this.ctx = new Context({ latencyHint: 'playback' });
        this.master = this.ctx.createGain();
        this.analyser = this.ctx.createAnalyser();
        this.analyser.fftSize = 2048;
        this.analyser.smoothingTimeConstant = 0.6;
        this.master.connect(this.analyser).connect(this.ctx.destination);
        this.samples = new Float32Array(this.analyser.fftSize);
        this.bins = new Uint8Array(this.analyser.frequencyBinCount);
      }
      this.on = true;
      this.playhead = 0;
      const resumed = this.ctx.resume();
      if (piece) this.enqueue(piece);
      return resumed;
    }

    stop() {
      this.on = false;
      this.token += 1;
      if (!this.ctx) return;
      const now = this.ctx.currentTime;
      for (const v of this.voices) this.fadeOut(v, now, 0.4);
      this.playhead = 0;
      setTimeout(() => { if (!this.on) this.ctx.suspend(); }, 600);
    }

    enqueue(piece) {
      if (!this.on) return;
      const announced = this.ctx.currentTime;
      const token = ++this.token;
      this.chain = this.chain
        .then(() => this.load(piece, announced, token))
        .catch((err) => { ciel.soundErrors += 1; console.warn('ciel: sound not played:', err.message); });
    }

    async load(piece, announced, token) {
      if (token !== this.token) return;  // a newer piece came in while this one waited its turn
      const url = piece.audio_opus && PLAYS_OPUS ? piece.audio_opus : piece.audio;
      ciel.soundUrl = url;
      const res = await fetch(url);
      if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
      const buffer = await this.ctx.decodeAudioData(await res.arrayBuffer());
      if (token !== this.token || !this.on) return;
      this.schedule(buffer, piece, announced);
    }

    schedule(buffer, piece, announced) {
      const now = this.ctx.currentTime;
      const soonest = now + 0.05;
      // The piece's nominal length sets the cadence (an MP3 decodes a few ms longer than it is).
      const length = Math.min(piece.duration_s || buffer.duration, buffer.duration);
      // Intervals longer than the longest sound the node renders: the sound loops until the next one.
      const loop = !!(piece.params && piece.params.interval > length + 0.5);
      let start, offset = 0, fadeIn = JOIN_XF, how = 'join';

      if (!this.playhead) {
        // Tuning in, like a radio: join the piece where it is now, LATENCY behind live. Its time is read
        // now, after the download and decode, so the sound ends where the next piece's join expects it.
        const live = now - ageOf(piece) + LATENCY;   // context time at which the piece's start sounds
        start = Math.max(soonest, live);
        offset = loop ? (start - live) % length : clamp(start - live, 0, Math.max(0, length - 1));
        fadeIn = ENTRY_FADE;
        how = 'entry';
      } else {
        const target = Math.max(soonest, announced + LATENCY);
        const tolerance = Math.min(0.5, length / 4);
        if (target < this.playhead - tolerance) {
          // Early: a performer asked for the next piece. It starts at its own time, crossfading out of
          // whatever still sounds then.
          start = target;
          fadeIn = this.cut(start) ? CUT_XF : ENTRY_FADE;
          how = fadeIn === CUT_XF ? 'cut' : 'entry';
        } else if (this.playhead >= soonest) {
          // The usual case: back to back, gapless. A piece that came late but is decoded before the
          // last one ends still joins (the sound runs that much closer to live, never a gap).
          start = Math.max(soonest, this.playhead - JOIN_XF);
        } else {
          // Too late for a join: the last sound has ended (a gap, a slept laptop). Start again, faded in.
          start = target;
          fadeIn = ENTRY_FADE;
          how = 'entry';
        }
      }
      const end = this.voice(buffer, start, offset, fadeIn, loop, length);
      // origin: the context time at which the piece's own second 0 sounds (its keyframes' clock)
      this.history = [...this.history.slice(-15),
        { seq: piece.seq, ready: now, start, end, how, origin: start - offset, length, loop }];
    }

    voice(buffer, start, offset, fadeIn, loop, length) {
      const ctx = this.ctx;
      const src = ctx.createBufferSource();
      src.buffer = buffer;
      src.loop = loop;
      const gain = ctx.createGain();
      const end = loop ? Infinity : start + (length - offset);
      fadeIn = Math.min(fadeIn, loop ? fadeIn : (end - start) / 3);
      gain.gain.setValueAtTime(0, start);
      gain.gain.linearRampToValueAtTime(1, start + fadeIn);
      if (!loop) {
        gain.gain.setValueAtTime(1, end - JOIN_XF);
        gain.gain.linearRampToValueAtTime(0, end);
      }
      src.connect(gain).connect(this.master);
      const v = { src, gain, start, end };
      src.onended = () => { src.disconnect(); gain.disconnect(); this.voices.delete(v); };
      src.start(start, offset);
      if (!loop) src.stop(end + 0.005);
      this.voices.add(v);
      this.playhead = end;
      return end;
    }

    // Silence what would still sound at `at`; true when something was sounding (a crossfade).
    cut(at) {
      let sounding = false;
      for (const v of this.voices) {
        if (v.start >= at) v.src.stop();            // never heard: drop it
        else if (v.end > at) { this.fadeOut(v, at, CUT_XF); sounding = true; }
      }
      return sounding;
    }

    fadeOut(v, at, length) {
      const g = v.gain.gain;
      if (g.cancelAndHoldAtTime) g.cancelAndHoldAtTime(at);
      else { g.cancelScheduledValues(at); g.setValueAtTime(g.value, at); }
      g.linearRampToValueAtTime(0, at + length);
      v.src.stop(at + length);
      v.end = at + length;
    }

    level() {
      if (!this.analyser) return 0;
      this.analyser.getFloatTimeDomainData(this.samples);
      let sum = 0;
      for (let i = 0; i < this.samples.length; i++) sum += this.samples[i] * this.samples[i];
      return Math.sqrt(sum / this.samples.length);
    }

    // What the sky answers (once a frame): loudness 0..1 (RMS from -50 to -10 dBFS) and spectral flux 0..1
    // (how much the spectrum rose since the last look, summed over the bins, scaled).
    drive() {
      const level = clamp((20 * Math.log10(Math.max(this.level(), 1e-6)) + 50) / 40, 0, 1);
      this.analyser.getByteFrequencyData(this.bins);
      if (!this.lastBins) this.lastBins = new Uint8Array(this.bins.length);
      let rise = 0;
      for (let i = 0; i < this.bins.length; i++) rise += Math.max(0, this.bins[i] - this.lastBins[i]);
      this.lastBins.set(this.bins);
      return { level, flux: clamp((20 * rise) / (this.bins.length * 255), 0, 1) };
    }

    // Log-spaced bands 0..1 from 60 Hz to 8 kHz, for the little meter beside "listen" (the node's
    // sound is 16 kHz: above 8 kHz a band would always read empty).
    bands(count) {
      this.analyser.getByteFrequencyData(this.bins);
      const hz = this.ctx.sampleRate / this.analyser.fftSize;   // width of one bin
      const top = Math.min(8000, this.ctx.sampleRate / 2);
      const out = [];
      for (let k = 0; k < count; k++) {
        const lo = Math.floor(60 * Math.pow(top / 60, k / count) / hz);
        const hi = Math.max(lo + 1, Math.floor(60 * Math.pow(top / 60, (k + 1) / count) / hz));
        let peak = 0;
        for (let i = lo; i < hi && i < this.bins.length; i++) peak = Math.max(peak, this.bins[i]);
        out.push(peak / 255);
      }
      return out;
    }
  }

  // An envelope follower: up in about PULSE_UP seconds, down in about PULSE_DOWN.
  function follow(value, target, dt) {
    const tau = target > value ? PULSE_UP : PULSE_DOWN;
    return value + (target - value) * (1 - Math.exp(-dt / tau));
  }

  // Seconds since the piece was published, by this machine's clock. A clock that disagrees with the
  // node's by more than a piece makes no sense of it: then take the piece as brand new.
  function ageOf(piece) {
    const age = Date.now() / 1000 - piece.created_at;
    const span = (piece.next_at || piece.created_at + (piece.duration_s || 30)) - piece.created_at;
    return age >= 0 && age <= span + 5 ? age : 0;
  }

  /* ============================================================================================
   * The feed
   * ========================================================================================== */

  class Feed {
    constructor(handlers) {
      this.on = handlers;            // { piece(p), reachable(bool) }
      this.etag = null;
      this.stream = null;
      this.timer = 0;
      this.failures = 0;             // polls in a row that found no node
      this.streamFailures = 0;       // streams in a row that never opened
      this.streamTried = 0;
      this.polling = params.get('transport') === 'poll' || !window.EventSource;
      this.lastPiece = performance.now();
      this.interval = 30;
    }

    start() {
      if (this.polling) this.poll(); else this.listen();
      setInterval(() => this.watch(), 5000);
    }

    listen() {
      ciel.transport = 'events';
      this.streamTried = Date.now();
      const stream = this.stream = new EventSource('/api/events');
      let opened = false;
      stream.onopen = () => { opened = true; this.streamFailures = 0; this.reached(); };
      stream.addEventListener('piece', (e) => this.piece(JSON.parse(e.data)));
      stream.onerror = () => {
        // The stream ended (node stopped, a proxy's timeout) or never opened (a 502 from a proxy,
        // too many listeners). The browser would retry every 2 s forever; ask a plain request instead,
        // which tells "no node" from "no stream" and backs off.
        stream.close();
        if (this.stream === stream) this.stream = null;
        if (!opened) this.streamFailures += 1;
        this.later(0.25);
      };
    }

    async poll() {
      this.timer = 0;
      let res;
      try {
        res = await fetch('/api/latest', {
          cache: 'no-store',
          headers: this.etag ? { 'If-None-Match': this.etag } : {},
          signal: AbortSignal.timeout ? AbortSignal.timeout(8000) : undefined,  // a hung request counts as a failure
        });
      } catch (err) {
        return this.unreachable();
      }
      let wait = POLL;
      if (res.status === 200) {
        let piece;
        try { piece = await res.json(); } catch (err) { return this.unreachable(); }
        this.etag = res.headers.get('ETag');
        this.reached();
        this.piece(piece);
      } else if (res.status === 304) {
        this.reached();
      } else if (res.status === 404) {
        this.reached();             // the node is there, its first piece is not
        wait = Number(res.headers.get('Retry-After')) || POLL;
      } else {
        return this.unreachable(); // a proxy answering for a node that is away
      }
      // Back to the stream when there is one; a stream that keeps failing is retried every 5 minutes.
      const retryStream = this.streamFailures < 3 || Date.now() - this.streamTried > 300000;
      if (!this.polling && !this.stream && retryStream) return this.listen();
      this.later(wait);
    }

    piece(p) {
      this.lastPiece = performance.now();
      if (p.params && p.params.interval) this.interval = p.params.interval;
      this.on.piece(p);
    }

    reached() {
      this.failures = 0;
      ciel.transport = this.stream ? 'events' : 'polling';
      this.on.reachable(true);
    }

    unreachable() {
      this.failures += 1;
      this.on.reachable(false);
      // 1, 2, 4, 8, 15, 15 ... s, each +-20 % so that a thousand pages do not all come back at once.
      const wait = Math.min(BACKOFF_MAX, Math.pow(2, this.failures - 1)) * (0.8 + 0.4 * Math.random());
      this.later(wait);
    }

    later(seconds) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.poll(), seconds * 1000);
    }

    // A stream can die without an error (a laptop lid, a silent proxy): a piece long overdue means
    // asking the node directly.
    watch() {
      const overdue = (performance.now() - this.lastPiece) / 1000 > this.interval + Math.max(STALL_GRACE, this.interval);
      if (overdue && this.stream) {
        this.stream.close();
        this.stream = null;
        this.lastPiece = performance.now();
        this.later(0);
      }
    }
  }

  /* ============================================================================================
   * The page
   * ========================================================================================== */

  const view = { sky: null, pending: null };   // the sky component registers itself here
  const sound = new Sound();
  let current = null;       // the newest piece
  let reachable = true;

  Object.defineProperties(ciel, {
    audioTime: { get: () => (sound.ctx ? sound.ctx.currentTime : 0) },
    audioState: { get: () => (sound.ctx ? sound.ctx.state : 'none') },
    voices: { get: () => sound.voices.size },
    fading: { get: () => !!(view.sky && view.sky.b) },
    sounds: { get: () => sound.history.map((h) => ({ ...h, end: Number.isFinite(h.end) ? h.end : null })) },
    gpuTextures: {
      get: () => {
        const scene = document.querySelector('a-scene');
        return scene && scene.renderer ? scene.renderer.info.memory.textures : null;
      },
    },
  });
  ciel.analyserLevel = () => sound.level();

  function fadeFor(piece) {
    const interval = (piece.params && piece.params.interval) || 30;
    return Math.min(SKY_FADE, 0.4 * interval);
  }

  // --- keyframes: the skies the piece's sound moves its picture through (one strip, cell k from times[k]) ---
  // A keyframe's URL is its strip's with the cell in the fragment: `/media/<strip>#cell=k/n`.
  function cellOf(url) {
    const m = /#cell=(\d+)\/(\d+)$/.exec(url || '');
    return m ? { k: Number(m[1]), n: Number(m[2]) } : null;
  }

  // Where the piece is now, in seconds of its own sound: the AudioContext's clock while its sound plays
  // here, else the wall clock since it was published, LATENCY later (when a listener would hear it start),
  // so the sky moves at the same times with the sound on or off. A sound that loops, loops its keyframes.
  function pieceClock(piece) {
    const length = piece.duration_s || 30;
    // Its newest scheduling: listening stopped and started again schedules the same piece anew.
    let heard = null;
    if (sound.on && sound.ctx) {
      for (const h of sound.history) if (h.seq === piece.seq) heard = h;
    }
    if (heard) {
      const t = sound.ctx.currentTime - heard.origin;
      return { t: heard.loop && t > 0 ? t % heard.length : t, clock: 'sound' };
    }
    const t = ageOf(piece) - LATENCY;
    const loop = !!(piece.params && piece.params.interval > length + 0.5);
    return { t: loop && t > 0 ? t % length : t, clock: 'wall' };
  }

  // The sky to show for `piece` now: its keyframe for this moment, or its one sky (no keyframes, or
  // someone who asked for less motion).
  let skyAsked = null;       // the URL last asked of the sky
  function skyNow(piece) {
    const times = piece.keyframe_times;
    if (!piece.keyframes || !Array.isArray(times) || !times.length || REDUCED_MOTION.matches) {
      return { url: piece.sky };
    }
    const now = pieceClock(piece);
    let k = 0;
    while (k + 1 < times.length && times[k + 1] <= now.t) k += 1;
    return { url: `${piece.keyframes}#cell=${k}/${times.length}`, k, now };
  }

  function showSky(piece, fade) {
    const want = skyNow(piece);
    if (want.url === skyAsked) return;
    skyAsked = want.url;
    if (want.now) {
      ciel.keyframes = [...ciel.keyframes.slice(-31),
        { seq: piece.seq, k: want.k, at: want.now.t, clock: want.now.clock }];
    }
    if (view.sky) view.sky.setSky(want.url, fade); else view.pending = { url: want.url, fade };
  }

  // Once a frame: the next keyframe when its time comes.
  function followKeyframes() {
    if (!current) return;
    const times = current.keyframe_times || [];
    const segment = (current.duration_s || 30) / Math.max(1, times.length);
    showSky(current, Math.min(KEYFRAME_FADE, segment / 4));
  }

  function onPiece(piece) {
    if (current && piece.seq === current.seq && piece.sky === current.sky) return;  // a reconnect's replay
    current = piece;
    ciel.seq = piece.seq;
    ciel.pieces += 1;
    showSky(piece, fadeFor(piece));
    if (sound.on) sound.enqueue(piece);
    caption(piece);
    updateWaiting();
  }

  function caption(piece) {
    const p = piece.params || {};
    const bits = [`piece ${piece.seq}`];
    if (p.seed !== undefined) bits.push(`seed ${p.seed}`);
    if (p.drift !== undefined) bits.push(`drift ${Number(p.drift).toFixed(2)}`);
    document.getElementById('caption').textContent = bits.join('  \u00b7  ');
  }

  // "waiting for the sky" shows only when the wait lasts: not for the instant between a stream
  // opening and its first piece, nor for a reconnect that succeeds at once.
  let waitingTimer = 0;
  function updateWaiting() {
    const waiting = !reachable || !current;
    ciel.state = waiting ? 'waiting' : 'live';
    if (!waiting) {
      clearTimeout(waitingTimer);
      waitingTimer = 0;
      showWaiting(false);
    } else if (!waitingTimer) {
      waitingTimer = setTimeout(() => showWaiting(ciel.state === 'waiting'), 1000);
    }
  }

  function showWaiting(show) {
    document.getElementById('waiting').hidden = !show;
    if (view.sky) view.sky.presenceTarget = show ? 0.35 : 1;
  }

  function setUpListen() {
    const button = document.getElementById('listen');
    const label = button.querySelector('.label');
    const bars = [...button.querySelectorAll('.meter i')];
    const care = document.getElementById('care');
    let careTimer = 0;

    button.addEventListener('click', () => {
      if (!sound.on) {
        sound.start(current).catch((err) => console.warn('ciel: audio did not start:', err.message));
        ciel.listening = true;
        label.textContent = 'listening';
        button.setAttribute('aria-pressed', 'true');
        careTimer = setTimeout(() => care.classList.add('gone'), 12000);
      } else {
        sound.stop();
        ciel.listening = false;
        label.textContent = 'listen';
        button.setAttribute('aria-pressed', 'false');
        clearTimeout(careTimer);
        care.classList.remove('gone');
      }
    });

    // The meter and the hairline to the next piece, once per frame; styles are touched only when
    // something moved, so a page left open all day costs next to nothing.
    const next = document.querySelector('#next i');
    let metering = false, shownProgress = -1, lastFrame = performance.now();
    (function frame() {
      // The sky's answer to the sound: followed while it plays, let go when it stops, none at all for
      // someone who asked for less motion.
      const now = performance.now();
      ciel.frames += 1;
      const dt = Math.min(0.25, (now - lastFrame) / 1000);
      lastFrame = now;
      if (REDUCED_MOTION.matches) {
        ciel.skyPulse = ciel.skyFlux = 0;
      } else {
        const drive = sound.on && sound.analyser ? sound.drive() : { level: 0, flux: 0 };
        ciel.skyPulse = follow(ciel.skyPulse, drive.level, dt);
        ciel.skyFlux = follow(ciel.skyFlux, drive.flux, dt);
      }
      if (view.sky instanceof FlatSky) view.sky.pulse = ciel.skyPulse;
      followKeyframes();
      if (sound.on && sound.analyser) {
        sound.bands(bars.length).forEach((level, i) => bars[i].style.setProperty('--l', level.toFixed(2)));
        metering = true;
      } else if (metering) {
        bars.forEach((bar) => bar.style.setProperty('--l', '0'));
        metering = false;
      }
      if (current && current.next_at) {
        const span = current.next_at - current.created_at;
        const progress = span > 0 ? clamp(ageOf(current) / span, 0, 1) : 0;
        if (Math.abs(progress - shownProgress) > 0.0005) {
          next.style.transform = `scaleX(${progress.toFixed(4)})`;
          shownProgress = progress;
        }
      }
      requestAnimationFrame(frame);
    })();
  }

  function setUpNote() {
    const about = document.getElementById('about');
    const note = document.getElementById('note');
    const body = document.getElementById('note-body');
    let loaded = false;

    async function load() {
      try {
        const res = await fetch('/assets/note.html');
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
        const article = doc.querySelector('article');
        body.replaceChildren(document.importNode(article, true));
        loaded = true;
      } catch (err) {
        body.textContent = 'The note could not be loaded just now; try again in a moment.';
      }
    }

    function open(show) {
      note.hidden = !show;
      about.setAttribute('aria-expanded', String(show));
      if (show && !loaded) load();
    }

    about.addEventListener('click', () => open(note.hidden));
    note.addEventListener('click', (e) => { if (!body.contains(e.target)) open(false); });
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape') open(false); });
  }

  document.addEventListener('DOMContentLoaded', () => {
    startSky();
    setUpListen();
    setUpNote();
    updateWaiting();
    new Feed({
      piece: onPiece,
      reachable: (ok) => { reachable = ok; updateWaiting(); },
    }).start();
  });
})();
