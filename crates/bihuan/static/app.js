/* bihuan: a little plain JavaScript on top of pages that work without it.
 * - cascading region pickers (national divisions and the city's villages);
 * - a draft of the 返永通 form kept in localStorage until it is submitted;
 * - the task report and transfer forms show only the part their choice needs;
 * - a scan that came back refused is selected, so the next scan replaces it. */
(function () {
  'use strict';
  var doc = document;
  doc.documentElement.classList.add('js');

  function getJSON(url) {
    return fetch(url, { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) { throw new Error(url + ': ' + r.status); }
      return r.json();
    });
  }

  function fill(select, list, choose, value) {
    select.innerHTML = '';
    select.appendChild(new Option(choose, ''));
    list.forEach(function (d) {
      var o = new Option(d.name, d.code);
      if (d.risk) { o.setAttribute('data-risk', '1'); }
      select.appendChild(o);
    });
    select.disabled = false;
    if (value) { select.value = value; }
  }

  function changed(input) {
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }

  /* Opens a picker once its <details> opens, so long lists stay cheap. */
  function whenVisible(root, init) {
    var d = root.closest('details');
    if (!d || d.open) { init(); return; }
    d.addEventListener('toggle', function once() {
      if (d.open) { d.removeEventListener('toggle', once); init(); }
    });
  }

  /* National picker: province → city → county → township fill the two code
   * inputs. A county with a listed risk area makes the township required. */
  function nationalPicker(root) {
    var sel = root.querySelectorAll('select[data-level]');
    var county = root.querySelector('input[data-role=county]');
    var township = root.querySelector('input[data-role=township]');
    var note = root.querySelector('.risk-note');
    var star = root.querySelector('.risk-req');
    var choose = root.getAttribute('data-choose') || '—';
    if (county.required) { county.required = false; sel[2].required = true; }

    function risk(on) {
      sel[3].required = on;
      if (note) { note.hidden = !on; }
      if (star) { star.hidden = !on; }
    }
    function clear(from) {
      for (var i = from; i < 4; i++) { sel[i].innerHTML = ''; sel[i].disabled = true; }
      if (from <= 3 && township.value) { township.value = ''; changed(township); }
      if (from <= 2 && county.value) { county.value = ''; changed(county); }
      if (from <= 3) { risk(false); }
    }
    function load(level, parent, value) {
      var en = document.documentElement.lang === 'en' ? '&lang=en' : '';
      return getJSON('/api/v1/divisions?parent=' + encodeURIComponent(parent) + en).then(function (list) {
        fill(sel[level], list, choose, value);
      });
    }
    function countyRisk() {
      var o = sel[2].options[sel[2].selectedIndex];
      return !!(o && o.getAttribute('data-risk'));
    }
    sel[0].addEventListener('change', function () {
      clear(1);
      if (sel[0].value) { load(1, sel[0].value); }
    });
    sel[1].addEventListener('change', function () {
      clear(2);
      if (sel[1].value) { load(2, sel[1].value); }
    });
    sel[2].addEventListener('change', function () {
      clear(3);
      county.value = sel[2].value;
      changed(county);
      if (sel[2].value) {
        risk(countyRisk());
        load(3, sel[2].value);
      }
    });
    sel[3].addEventListener('change', function () {
      township.value = sel[3].value;
      changed(township);
    });

    /* Start from the codes already in the inputs (a form shown again, or a draft). */
    var c = county.value, t = township.value;
    var ready = sel[0].options.length > 1 ? Promise.resolve() : load(0, '');
    ready.then(function () {
      if (!/^\d{6}$/.test(c)) { return; }
      sel[0].value = c.slice(0, 2);
      return load(1, c.slice(0, 2), c.slice(0, 4))
        .then(function () { return load(2, c.slice(0, 4), c); })
        .then(function () {
          risk(countyRisk());
          return load(3, c, /^\d{9}$/.test(t) ? t : '');
        });
    }).catch(function () {
      /* Offline or refused: show the code inputs instead. */
      root.querySelector('.codes').style.display = 'block';
    });
  }

  /* The city's own tree: town → village fills the village code input. */
  function localPicker(root) {
    var sel = root.querySelectorAll('select[data-level]');
    var input = root.querySelector('input[data-role=village]');
    var choose = root.getAttribute('data-choose') || '—';
    function children(code) {
      return getJSON('/api/v1/regions/' + encodeURIComponent(code)).then(function (r) {
        return r.children || [];
      });
    }
    sel[0].addEventListener('change', function () {
      sel[1].innerHTML = ''; sel[1].disabled = true; input.value = '';
      if (sel[0].value) {
        children(sel[0].value).then(function (list) { fill(sel[1], list, choose); });
      }
    });
    sel[1].addEventListener('change', function () { input.value = sel[1].value; });
    var v = input.value;
    children(root.getAttribute('data-root')).then(function (towns) {
      fill(sel[0], towns, choose, /^\d{12}$/.test(v) ? v.slice(0, 9) : '');
      if (/^\d{12}$/.test(v)) {
        return children(v.slice(0, 9)).then(function (list) { fill(sel[1], list, choose, v); });
      }
    }).catch(function () {
      root.querySelector('.codes').style.display = 'block';
    });
  }

  /* Drafts: every field but the document number, saved as it is typed. */
  var SKIP = { id_number: 1, csrf: 1 };
  function draftKey(name) { return 'bihuan-draft-' + name; }

  function saveDraft(form) {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || SKIP[el.name] || el.type === 'hidden') { return; }
      if (el.type === 'checkbox' || el.type === 'radio') {
        if (el.checked) { (data[el.name] = data[el.name] || []).push(el.value); }
      } else {
        data[el.name] = el.value;
      }
    });
    try { localStorage.setItem(draftKey(form.getAttribute('data-draft')), JSON.stringify(data)); } catch (e) { /* private mode */ }
  }

  function restoreDraft(form) {
    var data;
    try { data = JSON.parse(localStorage.getItem(draftKey(form.getAttribute('data-draft'))) || 'null'); } catch (e) { data = null; }
    if (!data) { return; }
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || SKIP[el.name] || el.type === 'hidden' || !(el.name in data)) { return; }
      var v = data[el.name];
      if (el.type === 'checkbox' || el.type === 'radio') {
        el.checked = Array.isArray(v) && v.indexOf(el.value) >= 0;
      } else if (typeof v === 'string') {
        el.value = v;
      }
    });
    Array.prototype.forEach.call(form.querySelectorAll('details'), function (d) {
      Array.prototype.forEach.call(d.querySelectorAll('input[name]'), function (i) {
        if (i.value && i.type !== 'checkbox' && i.type !== 'radio') { d.open = true; }
      });
    });
  }

  Array.prototype.forEach.call(doc.querySelectorAll('[data-clear-draft]'), function (el) {
    try { localStorage.removeItem(draftKey(el.getAttribute('data-clear-draft'))); } catch (e) { /* ignore */ }
  });

  Array.prototype.forEach.call(doc.querySelectorAll('form[data-draft]'), function (form) {
    if (form.hasAttribute('data-fresh')) { restoreDraft(form); }
    var timer = null;
    function later() { clearTimeout(timer); timer = setTimeout(function () { saveDraft(form); }, 300); }
    form.addEventListener('input', later);
    form.addEventListener('change', later);
    window.addEventListener('pagehide', function () { saveDraft(form); });
  });

  Array.prototype.forEach.call(doc.querySelectorAll('[data-picker]'), function (root) {
    whenVisible(root, function () { nationalPicker(root); });
  });
  Array.prototype.forEach.call(doc.querySelectorAll('[data-local-picker]'), function (root) {
    var fs = root.closest('fieldset[data-when]');
    var started = false;
    function start() { if (!started) { started = true; localPicker(root); } }
    if (fs) { fs.addEventListener('focusin', start); }
    whenVisible(root, function () { if (!fs) { start(); } });
    root._start = start;
  });

  /* Report forms: show the "moved" or "corrected" part only when chosen;
   * the transfer form likewise shows the city or the out-of-city part. */
  Array.prototype.forEach.call(doc.querySelectorAll('form[data-report], form[data-switch]'), function (form) {
    var outcome = form.querySelector('select[data-switch-by]') || form.querySelector('select[name=outcome]');
    function show() {
      Array.prototype.forEach.call(form.querySelectorAll('fieldset[data-when]'), function (fs) {
        var on = fs.getAttribute('data-when') === outcome.value;
        fs.classList.toggle('shown', on);
        var lp = fs.querySelector('[data-local-picker]');
        if (on && lp && lp._start) { lp._start(); }
      });
    }
    outcome.addEventListener('change', show);
    show();
  });

  Array.prototype.forEach.call(doc.querySelectorAll('input[data-scan][autofocus]'), function (i) {
    i.focus();
    if (i.value) { i.select(); }
  });
  Array.prototype.forEach.call(doc.querySelectorAll('[data-print]'), function (b) {
    b.hidden = false;
    b.addEventListener('click', function () { window.print(); });
  });
  Array.prototype.forEach.call(doc.querySelectorAll('a[data-back]'), function (a) {
    if (history.length > 1) {
      a.addEventListener('click', function (e) { e.preventDefault(); history.back(); });
    }
  });
  /* A round's coverage page: every few seconds the figures are fetched as
   * JSON (the page names the URL) and written into the table, the total and
   * the tiles, so the command watches sampling without reloading. */
  Array.prototype.forEach.call(doc.querySelectorAll('[data-live-coverage]'), function (status) {
    var url = status.getAttribute('data-live-coverage');
    var every = 1000 * (+status.getAttribute('data-every') || 5);
    var okAt = +status.getAttribute('data-ok'), warnAt = +status.getAttribute('data-warn');
    var tiles = doc.querySelectorAll('.coverage-tiles .tile');
    var order = Array.prototype.map.call(doc.querySelectorAll('table.coverage tbody tr'), function (tr) {
      return tr.id;
    });
    function tenths(r) { return r.residents > 0 ? Math.floor(r.sampled * 1000 / r.residents) : null; }
    function percent(t) { return t === null ? '\u2014' : Math.floor(t / 10) + '.' + (t % 10) + '%'; }
    function setText(cell, n) {
      if (!cell) { return; }
      var target = cell.querySelector('a') || cell;
      if (target.textContent !== String(n)) { target.textContent = String(n); }
    }
    function paint(tr, r) {
      if (!tr) { return; }
      var c = tr.cells, t = tenths(r);
      setText(c[1], r.residents);
      setText(c[2], r.sampled);
      setText(c[3], r.results_in);
      setText(c[4], r.positives);
      c[4].classList.toggle('positive', r.positives > 0);
      setText(c[5], r.untested);
      var meter = c[6] && c[6].querySelector('meter'), pct = c[6] && c[6].querySelector('.pct');
      if (meter) { meter.value = t === null ? 0 : Math.min(t, 1000) / 10; meter.textContent = percent(t); }
      if (pct) { pct.textContent = percent(t); }
      var i = order.indexOf(tr.id), tile = i >= 0 ? tiles[i] : null;
      if (tile && tr.parentNode.tagName === 'TBODY') {
        var n = tile.querySelector('.n');
        if (n) { n.textContent = percent(t); }
        ['none', 'ok', 'warn', 'bad'].forEach(function (k) { tile.classList.remove(k); });
        tile.classList.add(t === null ? 'none' : t >= okAt ? 'ok' : t >= warnAt ? 'warn' : 'bad');
      }
    }
    function tick() {
      getJSON(url).then(function (c) {
        (c.rows || []).forEach(function (r) { paint(doc.getElementById('r-' + r.code), r); });
        if (c.total) { paint(doc.getElementById('r-total'), c.total); }
        status.textContent = status.getAttribute('data-updated') + ' ' + new Date().toLocaleTimeString();
      }).catch(function () { /* keep the last figures; try again */ }).then(function () {
        setTimeout(tick, every);
      });
    }
    setTimeout(tick, every);
  });
}());

/* 指挥部看板: the numbers refresh every 5 seconds from the live endpoint
 * (without JavaScript a <noscript> meta refresh reloads the page). */
(function () {
  'use strict';
  var board = document.querySelector('[data-live]');
  if (!board || !window.fetch) { return; }
  var url = board.getAttribute('data-live');
  function pct(p) { return p === null || p === undefined ? '—' : (Math.floor(p / 10) + '.' + (p % 10) + '%'); }
  function apply(t) {
    var id = t.code + (t.direct ? '-d' : '');
    var el = document.getElementById('tile-' + id);
    if (!el) { return; }
    el.className = el.className.replace(/lag-\w+/, 'lag-' + ({on_track: 'ok', behind: 'behind', far_behind: 'far'}[t.lag] || 'ok'));
    el.querySelectorAll('[data-n]').forEach(function (a) {
      var key = a.getAttribute('data-n').split('|')[1];
      a.textContent = key === 'closure' ? pct(t.closure_permille) : String(t.figures[key] || 0);
    });
  }
  /* The headline strip: the board's totals, each against yesterday's
   * value the page was drawn with (data-y). */
  function headline(t) {
    document.querySelectorAll('[data-h]').forEach(function (a) {
      var key = a.getAttribute('data-h'), closure = key === 'closure';
      var now = closure ? t.closure_permille : (t.figures[key] || 0);
      var n = a.querySelector('.hl-n'), chg = a.querySelector('.chg');
      if (n) { n.textContent = closure ? pct(now) : String(now); }
      var y = a.getAttribute('data-y');
      if (!chg || y === '' || now === null || now === undefined) { return; }
      var d = now - (+y), amount = closure ? Math.floor(Math.abs(d) / 10) + '.' + (Math.abs(d) % 10) : String(Math.abs(d));
      chg.textContent = d === 0 ? '\u00b10' : (d > 0 ? '\u25b2' : '\u25bc') + amount;
      a.className = a.className.replace(/trend-\w+/, 'trend-' + (d === 0 ? 'same' : d > 0 ? 'up' : 'down'));
    });
  }
  function tick() {
    fetch(url, { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    }).then(function (d) {
      apply(d.total);
      d.tiles.forEach(apply);
      headline(d.total);
      var at = document.querySelector('[data-live-at]');
      if (at) { at.textContent = new Date(d.at * 1000).toLocaleString('zh-CN', { hour12: false }); }
    }).catch(function () {});
  }
  setInterval(tick, 5000);
}());

/* The printable daily report's print button. */
document.addEventListener('click', function (e) {
  if (e.target && e.target.hasAttribute && e.target.hasAttribute('data-print')) { window.print(); }
});

/* A phone camera's photo is several MB; the server takes 2 MB. A file input
 * marked data-downscale="N" swaps a large picture for a JPEG at most N px
 * on its long side before the form is sent; a form sent meanwhile waits for
 * it. Small files, pictures the browser cannot draw, and browsers that
 * cannot replace a file input's files send the file as it is. */
(function () {
  'use strict';
  var LARGE = 1024 * 1024;
  function canReplaceFiles() {
    try { return !!new DataTransfer().files; } catch (e) { return false; }
  }
  document.addEventListener('change', function (e) {
    var input = e.target;
    if (!input || !input.hasAttribute || !input.hasAttribute('data-downscale')) { return; }
    var file = input.files && input.files[0];
    if (!file || file.size <= LARGE || !/^image\//.test(file.type) || !canReplaceFiles()) { return; }
    var side = parseInt(input.getAttribute('data-downscale'), 10) || 1600;
    var img = new Image();
    var url = URL.createObjectURL(file);
    input.setAttribute('data-downscaling', '');
    function done() {
      URL.revokeObjectURL(url);
      input.removeAttribute('data-downscaling');
      var form = input.form;
      if (form && form.hasAttribute('data-send-when-ready')) {
        form.removeAttribute('data-send-when-ready');
        if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
      }
    }
    img.onerror = done;
    img.onload = function () {
      try {
        var scale = Math.min(1, side / Math.max(img.naturalWidth, img.naturalHeight));
        var canvas = document.createElement('canvas');
        canvas.width = Math.round(img.naturalWidth * scale);
        canvas.height = Math.round(img.naturalHeight * scale);
        canvas.getContext('2d').drawImage(img, 0, 0, canvas.width, canvas.height);
        canvas.toBlob(function (blob) {
          try {
            if (blob && blob.size < file.size) {
              var dt = new DataTransfer();
              dt.items.add(new File([blob], file.name.replace(/\.[^.]*$/, '') + '.jpg', { type: 'image/jpeg' }));
              input.files = dt.files;
            }
          } finally { done(); }
        }, 'image/jpeg', 0.82);
      } catch (err) { done(); }
    };
    img.src = url;
  });
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (form && form.querySelector && form.querySelector('[data-downscaling]')) {
      e.preventDefault();
      form.setAttribute('data-send-when-ready', '');
    }
  }, true);
}());
