var L_ = D.labels;
var fmtLocale = D.lang === 'vi' ? 'vi-VN' : 'en-US';
// As coverage.reasons.format_number: English grouping, marks swapped in Vietnamese
// (4.583,9), whatever the browser's locale data.
function fmtNumber(v, decimals) {
  var text = Number(v).toLocaleString('en-US', {minimumFractionDigits: decimals,
    maximumFractionDigits: decimals});
  if (D.lang !== 'vi') return text;
  return text.replace(/[.,]/g, function (c) { return c === ',' ? '.' : ','; });
}
function fmt(v, kind) {
  if (v === null || v === undefined || v === '') return '–';
  if (kind === 'text') return String(v);
  if (kind === 'int') return fmtNumber(Math.round(Number(v)), 0);
  if (kind === 'pct') return fmtNumber(100 * v, 1) + ' %';
  return fmtNumber(v, 3);
}
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}
function fold(s) {
  return String(s).normalize('NFD').replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd').replace(/Đ/g, 'D').toLowerCase().trim();
}
var container = map.getContainer();
// Title
var titleBox = el('div', 'cv-title');
titleBox.appendChild(el('h1', null, D.title));
titleBox.appendChild(el('div', 'cv-sub', D.subtitle));
if (D.synthetic) titleBox.appendChild(el('div', 'cv-synthetic', D.synthetic));
L.DomEvent.disableClickPropagation(titleBox);
container.appendChild(titleBox);

var T = D.tiles;
var tiles = T.url ? L.tileLayer(T.url, {maxZoom: 19, minNativeZoom: T.minNativeZoom,
  maxNativeZoom: T.maxNativeZoom, attribution: el('span', null, T.attribution)
  .innerHTML}).addTo(map) : null;

function tipFor(p, layerKey) {
  var box = el('div', 'cv-tip');
  box.appendChild(el('b', 'cv-tip-name', p.n));
  if (p.d) box.appendChild(el('div', 'cv-tip-district', p.d));
  var rows = [['r', 'num3'], ['pp', 'int'], ['nd', 'int']];
  if (p.sh !== null && L_.sh) rows.splice(2, 0, ['sh', 'pct']);
  rows.forEach(function (r) {
    var line = el('div', 'cv-tip-' + r[0]);
    line.textContent = L_[r[0]] + ': ' + fmt(p[r[0]], r[1]);
    box.appendChild(line);
  });
  if (!p.np) box.appendChild(el('div', 'cv-tip-nopoint', L_.np + ': 0'));
  return box;
}
function popupFor(p) {
  var box = el('div', 'cv-popup');
  box.appendChild(el('h3', null, p.n));
  var table = el('table');
  D.fields.forEach(function (f) {
    var key = f[0];
    if (key === 'sh' && !L_.sh) return;
    if (f[1] === 'text' && !p[key]) return;
    var tr = el('tr');
    tr.appendChild(el('th', null, L_[key]));
    tr.appendChild(el('td', 'cv-f-' + key, fmt(p[key], f[1])));
    table.appendChild(tr);
  });
  box.appendChild(table);
  return box;
}

// Outline weights follow the zoom: at national zoom thick outlines would hide
// the choropleth (band 0: country, 1: province, 2: district and closer).
function zoomBand() {
  var z = map.getZoom();
  return z < D.outlineZooms[0] ? 0 : z < D.outlineZooms[1] ? 1 : 2;
}
var COMMUNE_WEIGHT = [0, 0.3, 0.6];
var NOPOINT_WEIGHT = [1, 2, 3];
var DISTRICT_STYLE = [{weight: 0, opacity: 0}, {weight: 0.9, color: '#444', opacity: 0.8},
  {weight: 1.6, color: '#222', opacity: 0.9}];
var PROVINCE_STYLE = [{weight: 0.8, color: '#777', opacity: 0.9},
  {weight: 1.6, color: '#333', opacity: 0.9}, {weight: 3, color: '#000', opacity: 0.9}];
var baseLayers = {};
var communeLayers = {};
var byCode = {};
D.layers.forEach(function (spec, li) {
  var lyr = L.geoJSON(D.communes, {
    style: function (f) {
      var k = f.properties.k[li];
      var noPoint = !f.properties.np;
      var fill = k >= 100 ? (k === 100 ? D.noPointColour : D.missingColour)
        : spec.colours[k];
      if (k === 100 && !spec.fillSpecial) fill = D.missingColour;
      var zb = zoomBand();
      var st = {className: 'cv-commune cv-layer-' + spec.key, fillColor: fill,
        fillOpacity: 0.72, color: '#555', weight: COMMUNE_WEIGHT[zb], opacity: 0.9};
      if (noPoint && !spec.fillSpecial) {
        st.color = D.noPointColour; st.weight = NOPOINT_WEIGHT[zb]; st.opacity = 1;
      }
      return st;
    },
    onEachFeature: function (f, layer) {
      layer.bindTooltip(function () { return tipFor(f.properties, spec.key); },
        {sticky: true, className: 'cv-tooltip'});
      layer.bindPopup(function () { return popupFor(f.properties); },
        {maxWidth: 360});
      layer.on('add', function () {
        if (layer._path) layer._path.setAttribute('data-code', f.properties.c);
      });
      layer.on('mouseover', function () {
        if (!spec.fillSpecial && !f.properties.np) return;
        layer.setStyle({weight: 2.5, color: '#000'});
      });
      layer.on('mouseout', function () { lyr.resetStyle(layer); });
      (byCode[f.properties.c] = byCode[f.properties.c] || {})[spec.key] = layer;
    }
  });
  baseLayers[spec.title] = lyr;
  communeLayers[spec.key] = lyr;
});
var overlays = {};
// Offline basemap: light grey land drawn from the page's own shapes, under the
// choropleth, shown when no tile loads (no internet) so the page is never blank.
var basemapPane = map.createPane('cv-basemap');
basemapPane.style.zIndex = 250;
basemapPane.style.pointerEvents = 'none';
var basemap = L.geoJSON({type: 'FeatureCollection',
  features: D.provinces.length ? D.provinces : D.communes.features}, {
  pane: 'cv-basemap', interactive: false,
  style: {className: 'cv-basemap', fillColor: '#e3e3de', fillOpacity: 1,
    color: '#ffffff', weight: 1, opacity: 1}});
function offlineBasemap() {
  if (!map.hasLayer(basemap)) basemap.addTo(map);
}
if (!tiles || navigator.onLine === false) offlineBasemap();
if (tiles) tiles.on('tileerror', offlineBasemap);
function outlineLayer(features, cls, weight, colour) {
  return L.geoJSON({type: 'FeatureCollection', features: features}, {
    interactive: false,
    style: {className: cls, color: colour, weight: weight, fill: false,
      opacity: 0.9}
  });
}
var outlinePane = map.createPane('cv-outlines');
outlinePane.style.zIndex = 450;
outlinePane.style.pointerEvents = 'none';
if (D.districts.length) {
  var dl = L.geoJSON({type: 'FeatureCollection', features: D.districts}, {
    pane: 'cv-outlines', interactive: false,
    style: function () {
      return L.extend({className: 'cv-district', fill: false},
        DISTRICT_STYLE[zoomBand()]);
    }});
  overlays[L_['map.layer.districts']] = dl.addTo(map);
}
if (D.provinces.length) {
  var pl = L.geoJSON({type: 'FeatureCollection', features: D.provinces}, {
    pane: 'cv-outlines', interactive: false,
    style: function () {
      return L.extend({className: 'cv-province', fill: false},
        PROVINCE_STYLE[zoomBand()]);
    }});
  overlays[L_['map.layer.provinces']] = pl.addTo(map);
}
if (D.uncovered.length) {
  var ul = L.geoJSON({type: 'FeatureCollection', features: D.uncovered}, {
    style: function () {
      var zb = zoomBand();
      return {className: 'cv-uncovered', color: '#000', weight: zb ? 1 : 0,
        dashArray: '4 3', fillColor: '#000', fillOpacity: zb ? 0.35 : 0.2};
    },
    onEachFeature: function (f, layer) {
      layer.bindTooltip(function () {
        return el('div', null, L_['map.uncovered'] + (f.properties.pop !== null ?
          ' · ' + L_.population + ': ' + fmt(f.properties.pop, 'int') : ''));
      }, {sticky: true});
    }});
  overlays[L_['map.layer.uncovered']] = ul.addTo(map);
}
var P = D.points;
var pointPane = map.createPane('cv-points');
pointPane.style.zIndex = 620;
var pointRenderer = D.cluster ? L.canvas({padding: 0.5, pane: 'cv-points'})
  : L.svg({pane: 'cv-points'});
function pointTip(i) {
  var box = el('div', 'cv-tip');
  box.appendChild(el('b', null, P.n[i] || L_.kinds[P.k[i]]));
  box.appendChild(el('div', null, L_.kind + ': ' + L_.kinds[P.k[i]]));
  box.appendChild(el('div', null, L_.staffed + ': ' +
    (P.s[i] ? L_['map.yes'] : L_['map.no'])));
  box.appendChild(el('div', null, L_.admin_services + ': ' +
    (P.t[i] ? L_['map.yes'] : L_['map.no'])));
  if (P.c[i]) box.appendChild(el('div', null, P.c[i]));
  return box;
}
// Clusters are neutral (white, grey ring): markercluster's default green, yellow
// and orange are the choropleth's "meets / slightly above / above" colours.
function clusterIcon(cluster) {
  var n = cluster.getChildCount();
  var size = n < 10 ? 22 : n < 100 ? 26 : n < 1000 ? 32 : 40;
  var label = el('span', null, fmtNumber(n, 0));
  return L.divIcon({html: label.outerHTML, className: 'marker-cluster cv-cluster-icon',
    iconSize: L.point(size, size)});
}
var pointsLayer = D.cluster ? L.markerClusterGroup({chunkedLoading: true,
  showCoverageOnHover: false, disableClusteringAtZoom: 14,
  maxClusterRadius: function (z) { return z < D.outlineZooms[0] ? 70 : 50; },
  iconCreateFunction: clusterIcon})
  : L.featureGroup();
var markers = [];
for (var i = 0; i < P.lat.length; i++) {
  var colour = D.kindColours[P.k[i]];
  var m = L.circleMarker([P.lat[i], P.lon[i]], {renderer: pointRenderer,
    pane: 'cv-points',
    className: 'cv-point', radius: P.t[i] ? 6 : 5, color: P.t[i] ? '#000' : '#fff',
    weight: P.t[i] ? 2.5 : 1.2, fillColor: colour, fillOpacity: P.s[i] ? 1 : 0.25});
  if (!P.s[i] && !P.t[i]) m.setStyle({color: colour, weight: 1.8});
  (function (idx) { m.bindTooltip(function () { return pointTip(idx); }); })(i);
  markers.push(m);
}
if (D.cluster) pointsLayer.addLayers(markers);
else markers.forEach(function (m) { pointsLayer.addLayer(m); });
if (P.lat.length) overlays[L_['map.layer.points']] = pointsLayer.addTo(map);
if (D.ringsKm && P.lat.length) {
  var rings = L.layerGroup();
  var ringRenderer = L.canvas({padding: 0.5});
  var built = false;
  rings.on('add', function () {
    if (built) return;
    built = true;
    for (var j = 0; j < P.lat.length; j++) {
      L.circle([P.lat[j], P.lon[j]], {radius: D.ringsKm * 1000, renderer: ringRenderer,
        interactive: false, color: '#08306b', weight: 1, fillColor: '#6baed6',
        fillOpacity: 0.08}).addTo(rings);
    }
  });
  overlays[L_.rings] = rings;
  if (D.showRings) rings.addTo(map);
}
if (D.proposed && D.proposed.lat.length) {
  var Q = D.proposed;
  var prop = L.featureGroup();
  for (var q = 0; q < Q.lat.length; q++) {
    var pm = L.circleMarker([Q.lat[q], Q.lon[q]], {className: 'cv-proposed',
      pane: 'cv-points', renderer: pointRenderer,
      radius: 8, color: '#000', weight: 2, dashArray: '3 2', fillColor: '#ffff33',
      fillOpacity: 1});
    (function (idx) {
      pm.bindTooltip(function () {
        var b = el('div', 'cv-tip');
        b.appendChild(el('b', null, L_['map.proposed']));
        if (Q.n[idx]) b.appendChild(el('div', null, Q.n[idx]));
        if (Q.c[idx]) b.appendChild(el('div', null, Q.c[idx]));
        return b;
      });
    })(q);
    prop.addLayer(pm);
  }
  overlays[L_['map.layer.proposed']] = prop.addTo(map);
}
if (tiles) overlays[T.osm ? 'OpenStreetMap' : L_['map.layer.tiles']] = tiles;
overlays[L_['map.layer.basemap']] = basemap;

// Legend: the choropleth part follows the active layer.
var legend = L.control({position: 'bottomright'});
var legendChoro, legendPoints;
legend.onAdd = function () {
  var box = L.DomUtil.create('div', 'cv-legend');
  legendChoro = L.DomUtil.create('div', 'cv-legend-choro', box);
  if (P.lat.length || D.uncovered.length || (D.proposed && D.proposed.lat.length)) {
    L.DomUtil.create('div', 'cv-sep', box);
    legendPoints = L.DomUtil.create('div', 'cv-legend-points', box);
    legendPoints.innerHTML = D.pointsLegend;
  }
  L.DomEvent.disableClickPropagation(box);
  L.DomEvent.disableScrollPropagation(box);
  return box;
};
legend.addTo(map);
function showLegend(key) {
  D.layers.forEach(function (s) {
    if (s.key === key) {
      legendChoro.innerHTML = s.legend;
      legendChoro.setAttribute('data-layer', key);
    }
  });
}
var first = D.layers[0];
communeLayers[first.key].addTo(map);
showLegend(first.key);
var activeKey = first.key;
map.on('baselayerchange', function (e) {
  D.layers.forEach(function (s) {
    if (communeLayers[s.key] === e.layer) { activeKey = s.key; showLegend(s.key); }
  });
});
L.control.layers(baseLayers, overlays, {collapsed: false, position: 'topright'})
  .addTo(map);

// Search, diacritics-insensitive.
var feats = D.communes.features;
var folded = feats.map(function (f) { return fold(f.properties.n); });
var search = L.control({position: 'topleft'});
search.onAdd = function () {
  var box = L.DomUtil.create('div', 'cv-search');
  var input = L.DomUtil.create('input', 'cv-search-input', box);
  input.type = 'search';
  input.placeholder = L_['map.search.placeholder'];
  input.setAttribute('aria-label', L_['map.search.placeholder']);
  var list = L.DomUtil.create('ul', 'cv-search-results', box);
  L.DomEvent.disableClickPropagation(box);
  L.DomEvent.disableScrollPropagation(box);
  var hits = [];
  function choose(fi) {
    var code = feats[fi].properties.c;
    var layer = byCode[code][activeKey];
    map.fitBounds(layer.getBounds(), {maxZoom: 13});
    layer.openPopup(layer.getBounds().getCenter());
    list.innerHTML = '';
  }
  function update() {
    var q = fold(input.value);
    list.innerHTML = '';
    hits = [];
    if (!q) return;
    for (var i = 0; i < folded.length && hits.length < 10; i++) {
      if (folded[i].indexOf(q) !== -1) hits.push(i);
    }
    if (!hits.length) { list.appendChild(el('li', 'cv-none', L_['map.search.none'])); }
    hits.forEach(function (fi, n) {
      var cls = n === 0 ? 'cv-hit cv-active' : 'cv-hit';
      var li = el('li', cls, feats[fi].properties.n);
      if (feats[fi].properties.d) {
        li.appendChild(document.createTextNode(' '));
        li.appendChild(el('small', null, feats[fi].properties.d));
      }
      li.addEventListener('click', function () { choose(fi); });
      list.appendChild(li);
    });
  }
  input.addEventListener('input', update);
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && hits.length) { choose(hits[0]); }
  });
  return box;
};
search.addTo(map);
// The view fits the populated main landmass (D.view); far islands stay drawn.
var b = D.view ? L.latLngBounds(D.view) : communeLayers[first.key].getBounds();
if (b.isValid()) map.fitBounds(b, {padding: [10, 10], animate: false});
function restyle() {
  var zb = zoomBand();
  map.eachLayer(function (l) {
    if (l instanceof L.GeoJSON && l.options.style instanceof Function &&
        l._cvBand !== zb) {
      l._cvBand = zb;
      l.eachLayer(function (f) { l.resetStyle(f); });
    }
  });
}
map.on('zoomend baselayerchange overlayadd', restyle);
restyle();
window.coverageMap = {map: map, layers: communeLayers, points: pointsLayer,
  tiles: tiles, byCode: byCode};
