// What-if: the planner adds, drags and removes points; distances, shares,
// radius, people per point and verdicts are recomputed in the page from the
// population cells (no server). Only cells within the largest threshold of an
// edited point are visited, found through a grid of blocks of that size.
(function () {
var W = D.whatif;
if (!W) return;
var P_ = D.points;
function km(v) {
  var mark = D.lang === 'vi' ? ',' : '.';
  return fmtNumber(v, 3).replace(/0+$/, '').replace(new RegExp('\\' + mark + '$'), '');
}
var TYPES = {'<i2': Int16Array, '<i4': Int32Array, '<u2': Uint16Array,
  '<u4': Uint32Array, '<f4': Float32Array};
function b64(text, T) {
  var bin = atob(text), bytes = new Uint8Array(bin.length);
  for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new T(bytes.buffer);
}
var pop = b64(W.pop, Float32Array);
var com = b64(W.com, TYPES[W.comType]);
var dist = Float64Array.from(b64(W.dist, Float32Array));
var near = Int32Array.from(b64(W.near, TYPES[W.nearType]));
var gix = b64(W.ix, TYPES[W.ixType]), giy = b64(W.iy, TYPES[W.ixType]);
var nCell = pop.length, nGrid = W.nGrid;
var cx = new Float64Array(nCell), cy = new Float64Array(nCell);
for (var i = 0; i < nGrid; i++) {
  cx[i] = W.ox + (gix[i] + 0.5) * W.cellM;
  cy[i] = W.oy + (giy[i] + 0.5) * W.cellM;
}
for (var j = 0; j < W.ex.length; j++) { cx[nGrid + j] = W.ex[j]; cy[nGrid + j] = W.ey[j]; }
var TM = W.thresholdsKm.map(function (t) { return t * 1000; });
var maxT = Math.max.apply(null, TM);
var feats = D.communes.features, nC = feats.length;

// Transverse Mercator (Krüger series to n^6, Karney 2011): clicks to metres.
var P = W.proj, nn = P.f / (2 - P.f), e = Math.sqrt(P.f * (2 - P.f));
var n2 = nn * nn, n3 = n2 * nn, n4 = n3 * nn, n5 = n4 * nn, n6 = n5 * nn;
var AA = P.a / (1 + nn) * (1 + n2 / 4 + n4 / 64 + n6 / 256);
var ALPHA = [nn / 2 - 2 * n2 / 3 + 5 * n3 / 16 + 41 * n4 / 180 - 127 * n5 / 288 +
  7891 * n6 / 37800,
  13 * n2 / 48 - 3 * n3 / 5 + 557 * n4 / 1440 + 281 * n5 / 630 - 1983433 * n6 / 1935360,
  61 * n3 / 240 - 103 * n4 / 140 + 15061 * n5 / 26880 + 167603 * n6 / 181440,
  49561 * n4 / 161280 - 179 * n5 / 168 + 6601661 * n6 / 7257600,
  34729 * n5 / 80640 - 3418889 * n6 / 1995840, 212378941 * n6 / 319334400];
function project(lat, lon) {
  var phi = lat * Math.PI / 180, lam = (lon - P.lon0) * Math.PI / 180;
  var s = Math.sin(phi);
  var t = Math.sinh(Math.atanh(s) - e * Math.atanh(e * s));
  var xi1 = Math.atan2(t, Math.cos(lam));
  var eta1 = Math.atanh(Math.sin(lam) / Math.sqrt(1 + t * t));
  var xi = xi1, eta = eta1;
  for (var k = 1; k <= 6; k++) {
    xi += ALPHA[k - 1] * Math.sin(2 * k * xi1) * Math.cosh(2 * k * eta1);
    eta += ALPHA[k - 1] * Math.cos(2 * k * xi1) * Math.sinh(2 * k * eta1);
  }
  return [P.x0 + P.k0 * AA * eta, P.y0 + P.k0 * AA * xi];
}

// Blocks of maxT metres: everything within maxT of a spot is in its 3x3 blocks.
function bkey(x, y) { return Math.floor(x / maxT) + ':' + Math.floor(y / maxT); }
var cellBlocks = new Map();
for (var c = 0; c < nCell; c++) {
  var key = bkey(cx[c], cy[c]);
  var list = cellBlocks.get(key);
  if (!list) { list = []; cellBlocks.set(key, list); }
  list.push(c);
}
var pointBlocks = new Map();
function around(map_, x, y, fn) {
  var bx = Math.floor(x / maxT), by = Math.floor(y / maxT);
  for (var dx = -1; dx <= 1; dx++) {
    for (var dy = -1; dy <= 1; dy++) {
      var list = map_.get((bx + dx) + ':' + (by + dy));
      if (list) for (var q = 0; q < list.length; q++) fn(list[q]);
    }
  }
}

// Points: existing (counted) ones, then the planner's.
var WP = W.points;
var pts = [];
function addRecord(r) {
  r.idx = pts.length; r.active = false; pts.push(r); return r;
}
WP.x.forEach(function (x, k) {
  var r = addRecord({x: x, y: WP.y[k], com: WP.com[k], id: WP.id[k], name: WP.n[k],
    kind: WP.kind[k], staffed: !!WP.s[k], admin: !!WP.t[k], lat: WP.lat[k],
    lon: WP.lon[k], existing: true});
  r.active = true;
  var key = bkey(r.x, r.y);
  (pointBlocks.get(key) || pointBlocks.set(key, []).get(key)).push(r.idx);
});

// Per-commune state.
var N = new Int32Array(nC), NS = new Int32Array(nC);
pts.forEach(function (r) { if (r.com >= 0) { N[r.com]++; if (r.staffed) NS[r.com]++; } });
var popS = new Float64Array(nC);
var within = TM.map(function () { return new Float64Array(nC); });
for (c = 0; c < nCell; c++) {
  popS[com[c]] += pop[c];
  for (var t = 0; t < TM.length; t++) if (dist[c] <= TM[t]) within[t][com[c]] += pop[c];
}
var changed = new Set();
function setDist(c, d, idx) {
  var k = com[c], old = dist[c];
  for (var t = 0; t < TM.length; t++) {
    var was = old <= TM[t], now = d <= TM[t];
    if (was !== now) within[t][k] += now ? pop[c] : -pop[c];
  }
  dist[c] = d; near[c] = idx;
  changed.add(k);
}
function activate(r) {
  r.active = true;
  var key = bkey(r.x, r.y);
  (pointBlocks.get(key) || pointBlocks.set(key, []).get(key)).push(r.idx);
  if (r.com >= 0) { N[r.com]++; if (r.staffed) NS[r.com]++; changed.add(r.com); }
  around(cellBlocks, r.x, r.y, function (c) {
    var dx = cx[c] - r.x, dy = cy[c] - r.y, d = Math.sqrt(dx * dx + dy * dy);
    if (d < dist[c]) setDist(c, d, r.idx);
  });
}
function deactivate(r) {
  r.active = false;
  var list = pointBlocks.get(bkey(r.x, r.y));
  list.splice(list.indexOf(r.idx), 1);
  if (r.com >= 0) { N[r.com]--; if (r.staffed) NS[r.com]--; changed.add(r.com); }
  around(cellBlocks, r.x, r.y, function (c) {
    if (near[c] !== r.idx) return;
    var best = 1e12, bi = -1;
    around(pointBlocks, cx[c], cy[c], function (q) {
      var p = pts[q], dx = cx[c] - p.x, dy = cy[c] - p.y;
      var d = Math.sqrt(dx * dx + dy * dy);
      if (d < best) { best = d; bi = q; }
    });
    setDist(c, best, bi);
  });
}

// Point in the page's commune polygons (rings of [lon, lat]).
var bboxes = feats.map(function (f) {
  var b = [Infinity, Infinity, -Infinity, -Infinity];
  var g = f.geometry;
  if (!g) return b;
  var polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  polys.forEach(function (poly) { poly[0].forEach(function (p) {
    b[0] = Math.min(b[0], p[0]); b[1] = Math.min(b[1], p[1]);
    b[2] = Math.max(b[2], p[0]); b[3] = Math.max(b[3], p[1]);
  }); });
  return b;
});
function inRing(ring, x, y) {
  var inside = false;
  for (var a = 0, b = ring.length - 1; a < ring.length; b = a++) {
    var xa = ring[a][0], ya = ring[a][1], xb = ring[b][0], yb = ring[b][1];
    if ((ya > y) !== (yb > y) && x < (xb - xa) * (y - ya) / (yb - ya) + xa) {
      inside = !inside;
    }
  }
  return inside;
}
function communeAt(lat, lon) {
  for (var k = 0; k < nC; k++) {
    var b = bboxes[k];
    if (lon < b[0] || lon > b[2] || lat < b[1] || lat > b[3]) continue;
    var g = feats[k].geometry;
    var polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
    for (var m = 0; m < polys.length; m++) {
      if (!inRing(polys[m][0], lon, lat)) continue;
      var hole = false;
      for (var h = 1; h < polys[m].length; h++) if (inRing(polys[m][h], lon, lat)) hole = true;
      if (!hole) return k;
    }
  }
  return -1;
}

// Figures (as coverage.metrics and the access rules compute them).
function figures(k) {
  var n = N[k], area = W.area[k], popc = W.popC[k];
  var r = n > 0 ? Math.sqrt(area / (Math.PI * n)) : null;
  var pp = n > 0 ? popc / n : null;
  var shares = TM.map(function (_t, t) { return popS[k] > 0 ? within[t][k] / popS[k] : null; });
  var ok = n > 0;
  if (W.radiusKm !== null && ok) ok = r <= W.radiusKm;
  if (W.peoplePerPoint !== null && ok) ok = pp <= W.peoplePerPoint;
  if (W.requireStaffed && NS[k] === 0) ok = false;
  W.rules.forEach(function (rule) {
    var s = shares[W.thresholdsKm.indexOf(rule[0])];
    if (s !== null && s < rule[1] - 1e-12) ok = false;
  });
  var need = 1;
  if (W.radiusKm !== null) need = Math.max(need, Math.ceil(area / (Math.PI * W.radiusKm * W.radiusKm) - 1e-9));
  if (W.peoplePerPoint !== null) need = Math.max(need, Math.ceil(popc / W.peoplePerPoint - 1e-9));
  return {n: n, staffed: NS[k], radiusKm: r, peoplePerPoint: pp, shares: shares,
    meets: ok, needed: Math.max(need - n, 0)};
}
function totals() {
  var area = 0, popc = 0, n = 0, ps = 0, failing = 0;
  var w = TM.map(function () { return 0; });
  for (var k = 0; k < nC; k++) {
    area += W.area[k] || 0; popc += W.popC[k] || 0; n += N[k]; ps += popS[k];
    for (var t = 0; t < TM.length; t++) w[t] += within[t][k];
    if (!figures(k).meets) failing++;
  }
  return {n: n, radiusKm: n > 0 ? Math.sqrt(area / (Math.PI * n)) : null,
    peoplePerPoint: n > 0 ? popc / n : null,
    shares: w.map(function (v) { return ps > 0 ? v / ps : null; }),
    failing: failing, communes: nC};
}

// Recolour the communes whose figures changed.
function classOf(spec, v, noPoint, missing) {
  if (spec.key === 'share') {
    if (v === null || missing) return 101;
    for (var q = 0; q < spec.edges.length; q++) if (v >= spec.edges[q]) return q;
    return spec.edges.length - 1;
  }
  if (spec.key === 'needed') {
    var m = 0;
    while (m < spec.edges.length && spec.edges[m] <= v) m++;
    return m;
  }
  if (noPoint) return 100;
  if (v === null || missing) return 101;
  var z = 0;
  while (z < spec.edges.length && spec.edges[z] < v) z++;
  return z;
}
var shareIdx = D.shareKm === null ? -1 : W.thresholdsKm.indexOf(D.shareKm);
function refresh() {
  changed.forEach(function (k) {
    var f = feats[k], p = f.properties, fig = figures(k);
    p.np = fig.n; p.ns = fig.staffed;
    p.r = fig.radiusKm === null ? null : Math.round(fig.radiusKm * 1000) / 1000;
    p.pp = fig.peoplePerPoint === null ? null : Math.round(fig.peoplePerPoint);
    p.rr = fig.radiusKm === null || W.radiusKm === null ? null : fig.radiusKm / W.radiusKm;
    p.pr = fig.peoplePerPoint === null || W.peoplePerPoint === null ? null
      : fig.peoplePerPoint / W.peoplePerPoint;
    if (shareIdx >= 0) p.sh = fig.shares[shareIdx];
    p.nd = fig.needed;
    D.layers.forEach(function (spec, li) {
      // only these four figures follow the points; other layers keep their class
      if (['radius', 'people', 'share', 'needed'].indexOf(spec.key) < 0) return;
      var v = spec.key === 'radius' ? p.rr : spec.key === 'people' ? p.pr
        : spec.key === 'share' ? p.sh : p.nd;
      p.k[li] = classOf(spec, v, fig.n === 0, spec.key === 'people' && !(W.popC[k] > 0));
      var layer = byCode[p.c] && byCode[p.c][spec.key];
      if (layer && map.hasLayer(communeLayers[spec.key])) {
        communeLayers[spec.key].resetStyle(layer);
      }
    });
  });
  var last = changed.size ? Array.from(changed).pop() : -1;
  changed.clear();
  showFigures(focus >= 0 ? focus : last);
}

// Panel.
var focus = -1;
var panel = L.control({position: 'topleft'});
var box, totalBox, communeBox;
function pct(v) { return v === null ? '–' : fmt(v, 'pct'); }
function line(parent, text, cls) { parent.appendChild(el('div', cls, text)); }
function showFigures(k) {
  var tot = totals();
  totalBox.textContent = '';
  line(totalBox, L_['wi.total'] + ': ' + fmt(tot.n, 'int') + ' ' + L_['wi.points'], 'cv-wi-head');
  line(totalBox, L_['wi.radius'] + ': ' + fmt(tot.radiusKm, 'num3') + ' km · ' +
    L_['wi.people'] + ': ' + fmt(tot.peoplePerPoint === null ? null :
    Math.round(tot.peoplePerPoint), 'int'), 'cv-wi-total-figures');
  line(totalBox, W.thresholdsKm.map(function (t, q) {
    return L_['wi.within'].replace('{t}', km(t)) + ': ' + pct(tot.shares[q]);
  }).join(' · '), 'cv-wi-total-shares');
  line(totalBox, L_['wi.failing'] + ': ' + fmt(tot.failing, 'int') + ' / ' +
    fmt(tot.communes, 'int'), 'cv-wi-failing');
  communeBox.textContent = '';
  if (k < 0) return;
  var fig = figures(k), p = feats[k].properties;
  line(communeBox, p.n, 'cv-wi-head');
  line(communeBox, fmt(fig.n, 'int') + ' ' + L_['wi.points'] + ' · ' + L_['wi.radius'] +
    ': ' + fmt(fig.radiusKm, 'num3') + ' km · ' + L_['wi.people'] + ': ' +
    fmt(fig.peoplePerPoint === null ? null : Math.round(fig.peoplePerPoint), 'int'),
    'cv-wi-commune-figures');
  line(communeBox, W.thresholdsKm.map(function (t, q) {
    return L_['wi.within'].replace('{t}', km(t)) + ': ' + pct(fig.shares[q]);
  }).join(' · '), 'cv-wi-commune-shares');
  line(communeBox, fig.meets ? L_['wi.meets'] : L_['wi.fails'],
    fig.meets ? 'cv-wi-verdict cv-wi-ok' : 'cv-wi-verdict cv-wi-bad');
}
var adding = false, serial = 0;
var newLayer = L.featureGroup().addTo(map);
function newPoint(lat, lon, meta) {
  lat = Math.round(lat * 1e7) / 1e7; lon = Math.round(lon * 1e7) / 1e7;
  var xy = project(lat, lon);
  serial++;
  var r = addRecord({x: xy[0], y: xy[1], com: communeAt(lat, lon),
    id: meta && meta.id || 'WHATIF' + String(serial).padStart(3, '0'),
    name: meta && meta.name || L_['wi.new'] + ' ' + serial, kind: 'post_office',
    staffed: true, admin: false, lat: lat, lon: lon, existing: false});
  activate(r);
  var marker = L.marker([lat, lon], {draggable: true, icon: L.divIcon({
    className: 'cv-wi-point', iconSize: [16, 16]})});
  marker.on('click', function (ev) {
    L.DomEvent.stopPropagation(ev);
    var t0 = performance.now();
    deactivate(r); newLayer.removeLayer(marker); refresh();
    lastMs = performance.now() - t0;
    if (meta && meta.onRemove) meta.onRemove();
  });
  marker.on('dragend', function () {
    var t0 = performance.now();
    var ll = marker.getLatLng();
    deactivate(r);
    var lat2 = Math.round(ll.lat * 1e7) / 1e7, lon2 = Math.round(ll.lng * 1e7) / 1e7;
    var xy2 = project(lat2, lon2);
    r.lat = lat2; r.lon = lon2; r.x = xy2[0]; r.y = xy2[1]; r.com = communeAt(lat2, lon2);
    activate(r); focus = r.com; refresh();
    lastMs = performance.now() - t0;
  });
  marker.addTo(newLayer);
  r.marker = marker;
  focus = r.com;
  return r;
}
var lastMs = null;
function addAt(lat, lon, meta) {
  var t0 = performance.now();
  var r = newPoint(lat, lon, meta);
  refresh();
  lastMs = performance.now() - t0;
  return r;
}
function removeRecord(r) {
  var t0 = performance.now();
  if (r.marker) newLayer.removeLayer(r.marker);
  deactivate(r); focus = r.com; refresh();
  lastMs = performance.now() - t0;
}
map.on('click', function (ev) {
  if (!adding) return;
  addAt(ev.latlng.lat, ev.latlng.lng);
});
// While adding, a click on a commune must reach the map, not open its popup
// (which stops the click).
function communePopups(on) {
  Object.keys(communeLayers).forEach(function (key) {
    communeLayers[key].eachLayer(function (l) {
      l.off('click', l._openPopup);
      if (on) l.on('click', l._openPopup);
    });
  });
}
// Existing points: a click while adding removes (or restores) them.
var byId = new Map();
pts.forEach(function (r) { byId.set(String(r.id), r); });
markers.forEach(function (m, q) {
  var r = byId.get(String(P_.id[q]));
  if (!r) return;
  m.on('click', function (ev) {
    if (!adding) return;
    L.DomEvent.stopPropagation(ev);
    var t0 = performance.now();
    if (r.active) { deactivate(r); m.setStyle({opacity: 0.3, fillOpacity: 0.05}); }
    else { activate(r); m.setStyle({opacity: 1, fillOpacity: P_.s[q] ? 1 : 0.25}); }
    focus = r.com; refresh();
    lastMs = performance.now() - t0;
  });
});
function csvField(v) {
  var s = String(v);
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}
function exportCsv() {
  var rows = ['point_id,name,kind,staffed,admin_services,lat,lon'];
  pts.forEach(function (r) {
    if (!r.active) return;
    rows.push([r.id, r.name, r.kind, r.staffed ? 'yes' : 'no', r.admin ? 'yes' : 'no',
      r.lat, r.lon].map(csvField).join(','));
  });
  return '\ufeff' + rows.join('\r\n') + '\r\n';
}
function download() {
  var blob = new Blob([exportCsv()], {type: 'text/csv;charset=utf-8'});
  var a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = 'points_whatif.csv';
  document.body.appendChild(a);
  a.click();
  setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
}
var proposals = [];
panel.onAdd = function () {
  box = L.DomUtil.create('div', 'cv-whatif');
  box.appendChild(el('div', 'cv-legend-title', L_['wi.title']));
  var lab = el('label', 'cv-wi-add');
  var toggle = el('input');
  toggle.type = 'checkbox';
  toggle.className = 'cv-wi-toggle';
  toggle.addEventListener('change', function () {
    adding = toggle.checked;
    map.closePopup();
    communePopups(!adding);
    map.getContainer().classList.toggle('cv-wi-adding', adding);
  });
  lab.appendChild(toggle);
  lab.appendChild(document.createTextNode(' ' + L_['wi.add']));
  box.appendChild(lab);
  var Q = D.proposed;
  if (Q && Q.lat.length) {
    box.appendChild(el('div', 'cv-wi-sub', L_['wi.proposals']));
    Q.lat.forEach(function (lat, q) {
      var row = el('label', 'cv-wi-proposal');
      var cb = el('input');
      cb.type = 'checkbox';
      var rec = null;
      cb.addEventListener('change', function () {
        if (cb.checked) {
          rec = addAt(lat, Q.lon[q], {id: 'PROPOSED' + String(q + 1).padStart(3, '0'),
            name: (L_['map.proposed'] + ' ' + (q + 1)),
            onRemove: function () { cb.checked = false; rec = null; }});
        } else if (rec) { removeRecord(rec); rec = null; }
      });
      proposals.push(cb);
      row.appendChild(cb);
      row.appendChild(document.createTextNode(' ' + (q + 1) + '. ' + (Q.c[q] || Q.n[q] || '')));
      box.appendChild(row);
    });
  }
  totalBox = el('div', 'cv-wi-total');
  communeBox = el('div', 'cv-wi-commune');
  box.appendChild(totalBox);
  box.appendChild(communeBox);
  var buttons = el('div', 'cv-wi-buttons');
  var exp = el('button', 'cv-wi-export', L_['wi.export']);
  exp.type = 'button';
  exp.addEventListener('click', download);
  var reset = el('button', 'cv-wi-reset', L_['wi.reset']);
  reset.type = 'button';
  reset.addEventListener('click', function () {
    pts.forEach(function (r) {
      if (r.existing && !r.active) activate(r);
      if (!r.existing && r.active) { deactivate(r); if (r.marker) newLayer.removeLayer(r.marker); }
    });
    proposals.forEach(function (cb) { cb.checked = false; });
    markers.forEach(function (m, q) { m.setStyle({opacity: 1, fillOpacity: P_.s[q] ? 1 : 0.25}); });
    focus = -1; refresh();
  });
  buttons.appendChild(exp);
  buttons.appendChild(reset);
  box.appendChild(buttons);
  L.DomEvent.disableClickPropagation(box);
  L.DomEvent.disableScrollPropagation(box);
  return box;
};
panel.addTo(map);
showFigures(-1);
window.coverageWhatIf = {
  add: function (lat, lon) { var r = addAt(lat, lon); return r.idx; },
  remove: function (idx) { removeRecord(pts[idx]); },
  figures: figures, totals: totals, exportCsv: exportCsv,
  communeAt: communeAt, project: project,
  lastMs: function () { return lastMs; },
  communeIndex: function (code) {
    for (var k = 0; k < nC; k++) if (feats[k].properties.c === code) return k;
    return -1;
  }
};
})();
